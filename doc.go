// Package omstil is open-source call-queue management for Asterisk, made
// for Danish municipalities. The binary is built from ./cmd/omstil; this
// root package holds only the architecture tests that keep the layout of
// docs/architecture.md true.
package omstil
