package audit

// WithWindow sets how many entries the audit prepares at a time, so that
// a small test log spans several windows.
func WithWindow(o Options, n int) Options {
	o.window = n
	return o
}
