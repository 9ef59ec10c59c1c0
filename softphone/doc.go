// Package softphone is omstil's WebRTC media bridge: the browser agent page
// keeps one pion PeerConnection to the omstil process for the whole shift, and
// the audio of each answered call is relayed, payload untouched (PCMU/8000),
// between that PeerConnection and a UDP socket that an Asterisk ARI
// externalMedia channel sends to and reads from.
//
// The pieces:
//
//   - [Manager] holds one [Session] per logged-in agent ([AgentID]). The
//     server package upgrades the agent page's WebSocket, wraps it in a
//     [MessageConn] and calls [Manager.Serve], which runs the signalling for
//     that page until it goes away or another tab of the same agent replaces
//     it. The server's [Authorize] and [Revoke] options end the page when
//     the login it was opened with ends; the agent is then logged out and
//     its call hung up.
//   - [Session] outlives page reloads. The call-handling adapter attaches the
//     answered call with [Session.AttachCall], which opens a relay socket
//     from the configured port range and returns the address to give ARI as
//     external_host; [Session.DetachCall] closes it. [Session.Notify] pushes
//     ring / connected / ended / state messages to the page.
//   - [CallControl] is implemented by the adapter: the page's call-control
//     messages (answer, decline, hangup, hold, transfer, dtmf, ready, pause,
//     logout) are forwarded to it with the authenticated agent ID.
//
// The signalling protocol is documented in docs/softphone.md.
package softphone
