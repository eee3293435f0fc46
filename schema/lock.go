package schema

import (
	"github.com/pressly/goose/v3/lock"
)

// lockID is the advisory lock key that serialises migrations.
const lockID = 0x636173656657 // "casefW"

func newLocker() (lock.SessionLocker, error) {
	return lock.NewPostgresSessionLocker(lock.WithLockID(lockID))
}
