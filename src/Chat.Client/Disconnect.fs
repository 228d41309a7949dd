/// What the client does when its connection ends, and which connect failures no retry can fix. Pure.
module Chat.Client.Disconnect

open Chat.Domain
open Chat.Client.ExitCode

type Next =
    /// Connect again after a backoff, log in again, and catch up.
    | Reconnect
    /// End the process with this code and this line on stderr.
    | Exit of code: int * note: string

/// `resumable`: reconnecting is on and the client can log in again by itself (it logged in with --user once);
/// `typedQuit`: the user typed /quit; `quitSent`: the client sent /quit (end of input, Ctrl-C), which also
/// decides the exit code; `last`: the last server line that parsed.
let decide
    (server: string)
    (resumable: bool)
    (typedQuit: bool)
    (quitSent: bool)
    (last: ServerMsg option)
    (ending: Ending)
    : Next =
    let exit () =
        Exit(ofEnding quitSent last ending, note server ending)

    match last with
    | _ when quitSent || typedQuit -> exit ()
    | Some(Ok QuitDone) -> exit ()
    // Logged in somewhere else: coming back would log that session out, and so on for ever.
    | Some(Sys(ForcedLogout _)) -> exit ()
    | _ when not resumable -> exit ()
    | _ -> Reconnect

/// A certificate that was refused stays refused: retrying would only repeat the refusal (or, worse, wait for an
/// impostor to go away). An unreachable server or a broken handshake may be back in a moment.
let isFatal (error: ConnectError) : bool =
    match error with
    | NoCertificate
    | Untrusted _
    | WrongName _
    | WrongPin _
    | BadCaFile _ -> true
    | CannotConnect _
    | HandshakeFailed _ -> false

/// The status line before each attempt.
let retrying (reason: string) (wait: System.TimeSpan) (attempt: int) : string =
    let seconds =
        wait.TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)

    $"* {reason}; reconnecting in {seconds} s (attempt {attempt})"
