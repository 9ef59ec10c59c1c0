package web

import "embed"

// AgentFS holds the agent softphone page under agent/: index.html, its
// script modules and its style sheet. The page carries its own strings
// (Danish and English) so it works without the admin UI's assets.
//
//go:embed agent
var AgentFS embed.FS
