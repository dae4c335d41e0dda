package corridor

// The zone database goes into the binary, so that a place's zone is known
// (and accepted by validation) the same on every machine, with or without
// the system's zoneinfo.
import _ "time/tzdata"
