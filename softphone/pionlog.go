package softphone

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// pionLogs routes pion's internal logging into slog. Pion's "errors" are
// about one peer's connection (a stale candidate, a DTLS alert), never the
// service's, so they become warnings; the rest is debug; trace is dropped.
type pionLogs struct{ log *slog.Logger }

func (f pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{f.log.With("pion", scope)}
}

type pionLogger struct{ log *slog.Logger }

func (l pionLogger) at(level slog.Level, msg string) {
	l.log.Log(context.Background(), level, "softphone: pion: "+msg)
}

func (l pionLogger) atf(level slog.Level, format string, args ...any) {
	if l.log.Enabled(context.Background(), level) {
		l.at(level, fmt.Sprintf(format, args...))
	}
}

func (pionLogger) Trace(string)                     {}
func (pionLogger) Tracef(string, ...any)            {}
func (l pionLogger) Debug(msg string)               { l.at(slog.LevelDebug, msg) }
func (l pionLogger) Debugf(format string, a ...any) { l.atf(slog.LevelDebug, format, a...) }
func (l pionLogger) Info(msg string)                { l.at(slog.LevelDebug, msg) }
func (l pionLogger) Infof(format string, a ...any)  { l.atf(slog.LevelDebug, format, a...) }
func (l pionLogger) Warn(msg string)                { l.at(slog.LevelDebug, msg) }
func (l pionLogger) Warnf(format string, a ...any)  { l.atf(slog.LevelDebug, format, a...) }
func (l pionLogger) Error(msg string)               { l.at(slog.LevelWarn, msg) }
func (l pionLogger) Errorf(format string, a ...any) { l.atf(slog.LevelWarn, format, a...) }
