/// The process exit codes, and which one a session's end deserves: scripts piping into `chat` branch on them.
module Chat.Client.ExitCode

open Chat.Domain

/// The session ended because we asked: `/quit`, end of input, Ctrl-C.
[<Literal>]
let Done = 0

/// No session, or it broke: cannot connect, certificate refused, connection lost, server unresponsive.
[<Literal>]
let Failed = 1

/// Bad flags.
[<Literal>]
let Usage = 2

/// The server ended the session on its own: after `ERR`, `SYS FORCED_LOGOUT`, `SYS SHUTDOWN`, or without a word.
[<Literal>]
let EndedByServer = 3

/// The login or registration asked for with `--user` was refused.
[<Literal>]
let LoginRefused = 4

/// How the connection ended, as the reading side saw it.
type Ending =
    | Closed
    | Lost of reason: string

/// `quitSent`: we asked to leave; `last`: the last server line that parsed.
let ofEnding (quitSent: bool) (last: ServerMsg option) (ending: Ending) =
    match last, ending with
    // The reply to /quit comes after every earlier reply, so nothing the script asked for went missing.
    | Some(Ok QuitDone), _ -> Done
    // Before `quitSent`: a session ended this way did not end because of our /quit, even if we had sent one.
    | Some(Err _ | Sys(ForcedLogout _ | Shutdown _)), _ -> EndedByServer
    | _, Closed when quitSent -> Done
    | _, Closed -> EndedByServer
    | _, Lost _ -> Failed

/// What the user is told on stderr when the connection ends.
let note (server: string) (ending: Ending) =
    match ending with
    | Closed -> $"connection closed by {server}"
    | Lost reason -> $"connection to {server} lost: {reason}"

/// For --help.
let help = [
    $"{Done} after /quit, end of input or Ctrl-C"
    $"{Failed} cannot connect, certificate refused, connection lost"
    $"{Usage} bad flags"
    $"{EndedByServer} the server ended the session (after ERR, SYS FORCED_LOGOUT, SYS SHUTDOWN, or unannounced)"
    $"{LoginRefused} the --user login or registration was refused"
]
