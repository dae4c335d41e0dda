package corridor

// Incident is an access incident (placeholder until access monitoring lands).
type Incident struct{}

// Claim is a public claim linked to evidence (placeholder until access monitoring lands).
type Claim struct{}
