package store

import "context"

// applyMonitoring projects access-monitoring records (incidents, claims).
// It reports whether the entry was one of them.
func applyMonitoring(ctx context.Context, t txn, e Entry) (bool, error) {
	return false, nil
}
