package schema

import (
	"github.com/pressly/goose/v3/lock"
)

// lockID is the advisory lock key that serialises migrations.
const lockID = 0x636173656657 // "casefW"

func newLocker() (lock.SessionLocker, error) {
	// Poll for the lock every second (goose's default is every 5 s) for up to
	// five minutes.
	return lock.NewPostgresSessionLocker(lock.WithLockID(lockID), lock.WithLockTimeout(1, 300))
}
