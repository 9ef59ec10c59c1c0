package callflow

// The built-in step kinds' table entries. Their settings, validation and
// run are in flow.go, validate.go and run.go; a new kind keeps all of its
// own in one file instead (see step_priority.go).
func init() {
}
