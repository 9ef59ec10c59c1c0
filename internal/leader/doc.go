// Package leader makes sure exactly one omstil process owns the Stasis
// application and the queue engine of a database.
//
// On SQLite that is an exclusive lock on a file next to the database
// (LockFile): a second `omstil serve` on the same file refuses to start and
// names the process that holds it.
//
// On PostgreSQL any number of processes may run; the one holding a
// session-level advisory lock on a dedicated connection is the leader, the
// others are standbys (Elector). A leader that can no longer confirm its
// lock fences itself at once; a standby that wins the lock waits out the
// old leader's lease before it starts, so two leaders never send commands
// to Asterisk at the same time. docs/operations.md, "Two nodes", gives the
// timing argument.
package leader
