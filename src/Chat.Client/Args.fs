/// The command line: flags, their help, and the settings they come to.
module Chat.Client.Args

open System
open Argu
open Chat.Domain

type CliArg =
    | [<Unique>] Host of host: string
    | [<Unique>] Port of port: int
    | [<Unique>] Ca of pem_file: string
    | [<Unique>] Pin of sha256: string
    | [<Unique>] User of name: string
    | Register
    | Raw
    | No_Reconnect
    | [<Unique>] Reconnect_Min of seconds: float
    | [<Unique>] Reconnect_Max of seconds: float

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Host _ -> "server host name or address (default: localhost)."
            | Port _ -> "server TLS port (default: 8000)."
            | Ca _ ->
                "trust the CA certificate(s) in this PEM file, or this self-signed server certificate; the host name must still match."
            | Pin _ ->
                "accept exactly the certificate with this SHA-256 fingerprint of its DER bytes (hex, colons optional)."
            | User _ ->
                "log in as this user; the password comes from CHAT_PASSWORD, else a prompt, else the first line of stdin."
            | Register -> "with --user: create the account (REGISTER) instead of logging in."
            | Raw ->
                "line mode, server lines printed verbatim: no interactive UI even at a terminal (line mode is the default when stdin or stdout is not a terminal)."
            | No_Reconnect -> "with --user: end when the connection drops instead of reconnecting."
            | Reconnect_Min _ ->
                $"longest wait before the first reconnect attempt; it doubles with each attempt (default: {Backoff.defaults.First.TotalSeconds})."
            | Reconnect_Max _ ->
                $"longest wait between reconnect attempts (default: {Backoff.defaults.Cap.TotalSeconds})."

type Settings = {
    Host: string
    Port: int
    Trust: Trust
    User: Username option
    Register: bool
    Raw: bool
    /// None: no reconnect.
    Reconnect: Backoff.Policy option
}

type Parsed =
    | Run of Settings
    | ShowHelp of text: string
    | BadFlags of text: string

[<Literal>]
let DefaultHost = "localhost"

[<Literal>]
let DefaultPort = 8000

let private commands =
    Verb.all |> List.filter (fun v -> v <> VLogin && v <> VRegister)

/// Argu prints the flags; this says what they add up to, which a list of flags cannot.
let private epilogue =
    let lines = [
        ""
        "Without --ca or --pin the server certificate is checked against the system trust store."
        "TLS 1.2 or 1.3 only; a certificate that fails the check ends the client before anything is sent."
        ""
        "Lines typed (or piped) on stdin are sent as they are; a line not starting with / is a room message."
        "Commands once logged in (send LOGIN <user> <password> first unless --user is given):"
        yield! commands |> List.map (fun v -> "    " + Verb.usage v)
        "End of input or Ctrl-C sends /quit and waits up to 5 s for the server's last replies."
        ""
        "With --user, a dropped connection is reconnected (unless --no-reconnect): waits drawn at random up to"
        "--reconnect-min seconds, doubling to --reconnect-max, one status line on stderr per attempt. The client"
        "logs in again with the session token it asked for (kept in memory, never shown) or else the password,"
        "goes back to its room and shows once the messages it missed. It does not reconnect after /quit,"
        "SYS FORCED_LOGOUT or a refused login, and stops on a certificate it does not trust (exit code 1)."
        "Lines typed while it reconnects are sent once it is back."
        ""
        "When stdin and stdout are both a terminal (and without --raw), the client is interactive: a message pane,"
        "rooms, direct conversations and members beside it, a status line, and an input line nothing overwrites;"
        "/help there lists its commands and keys. NO_COLOR turns colour off; a locale without UTF-8 is drawn in ASCII."
        "Otherwise it works line by line: when stdout is a terminal, server lines are shown readably"
        "(`[room] alice: hi`); when it is not, and with --raw, they are printed as received."
        "Control characters are always removed."
        ""
        "Exit codes:"
        yield! ExitCode.help |> List.map (fun l -> "    " + l)
    ]

    String.concat Environment.NewLine lines

let private positivePort (p: int) =
    if p >= 1 && p <= 65535 then
        p
    else
        failwith $"must be between 1 and 65535, not {p}"

let private pin (s: string) =
    match Fingerprint.tryParse s with
    | Some digest -> digest
    | None -> failwith "needs a SHA-256 fingerprint: 64 hex digits, colons optional"

let private seconds (s: float) =
    if Double.IsFinite s && s > 0.0 && s <= 86400.0 then
        TimeSpan.FromSeconds s
    else
        failwith $"must be a number of seconds above 0 and at most 86400, not {s}"

let private user (s: string) =
    match Username.tryCreate s with
    | Some u -> u
    | None -> failwith $"invalid user name {s} (letters, digits, _ . -; at most 32)"

let private settings (r: ParseResults<CliArg>) =
    let trust =
        match r.TryPostProcessResult(Pin, pin), r.TryGetResult Ca with
        | Some _, Some _ ->
            r.Raise("ERROR: --ca and --pin exclude each other: pick one way to trust the server", showUsage = true)
        | Some digest, None -> Pinned digest
        | None, Some path -> CaFile path
        | None, None -> SystemStore

    let user = r.TryPostProcessResult(User, user)
    let register = r.Contains Register

    if register && user.IsNone then
        r.Raise("ERROR: --register needs --user <name>", showUsage = true)

    let first =
        r.TryPostProcessResult(Reconnect_Min, seconds)
        |> Option.defaultValue Backoff.defaults.First

    let cap =
        r.TryPostProcessResult(Reconnect_Max, seconds)
        |> Option.defaultValue (max Backoff.defaults.Cap first)

    if cap < first then
        r.Raise("ERROR: --reconnect-max must not be below --reconnect-min", showUsage = true)

    {
        Host = r.GetResult(Host, DefaultHost)
        Port = r.TryPostProcessResult(Port, positivePort) |> Option.defaultValue DefaultPort
        Trust = trust
        User = user
        Register = register
        Raw = r.Contains Raw
        Reconnect =
            if r.Contains No_Reconnect then
                None
            else
                Some { First = first; Cap = cap }
    }

let parse (argv: string array) : Parsed =
    let parser = ArgumentParser.Create<CliArg>(programName = "chat")

    try
        parser.ParseCommandLine(argv, raiseOnUsage = true) |> settings |> Run
    with :? ArguParseException as e ->
        if e.ErrorCode = ErrorCode.HelpText then
            ShowHelp(e.Message + epilogue)
        else
            BadFlags e.Message
