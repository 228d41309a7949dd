/// The server's command line (the contract in PROTOCOL.md), and its `CHAT_*` environment variables.
module Chat.Server.Args

open System
open System.Net
open Argu

type DuplicateLoginArg =
    | [<CustomCommandLine "force-logout">] Force_Logout
    | [<CustomCommandLine "reject">] Reject

type Arg =
    | Port of int
    | Bind of address: string
    | Redis of configuration: string
    | Cert of file: string
    | Key of file: string
    | Cert_Dir of dir: string
    | Server_Id of id: string
    | Duplicate_Login of DuplicateLoginArg
    | Demo_Users
    | Bcrypt_Cost of int
    | Max_Line of bytes: int
    | Login_Timeout of seconds: int
    | Handshake_Timeout of seconds: int
    | Send_Queue of lines: int
    | Min_Password of chars: int
    | History of messages: int
    | Login_Failures of n: int
    | Msg_Rate of n: int
    | Max_Conns_Per_Address of n: int
    | Log_Level of level: string

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Port _ -> "TLS port (default 8000; 0 picks a free one)."
            | Bind _ -> "listen address (default 0.0.0.0)."
            | Redis _ -> "Redis to share state through, host:port[,option=value...]; without it, state is in memory."
            | Cert _ -> "PEM certificate (with --key)."
            | Key _ -> "PEM private key (with --cert)."
            | Cert_Dir _ -> "without --cert: where server.crt/server.key are kept or generated (default ./certs)."
            | Server_Id _ -> "this instance's name (default host name and pid)."
            | Duplicate_Login _ -> "a second login of a user: force-logout (default) the first, or reject the second."
            | Demo_Users -> "create alice/password123, bob/secret456, charlie/hello789 when absent."
            | Bcrypt_Cost _ -> "bcrypt work factor for new hashes, 4 to 31 (default 12)."
            | Max_Line _ -> "longest accepted line in bytes (default 4096)."
            | Login_Timeout _ -> "seconds from connect to login (default 30)."
            | Handshake_Timeout _ -> "seconds for the TLS handshake (default 10)."
            | Send_Queue _ -> "outbound lines queued per client before it is a slow consumer (default 1024)."
            | Min_Password _ -> "shortest password REGISTER accepts (default 8)."
            | History _ -> "messages kept per room for /history (default 1000)."
            | Login_Failures _ -> "failed logins per username per minute, 4n per address; 0 = no limit (default 5)."
            | Msg_Rate _ -> "messages per second per user, bursts of 2n; 0 = no limit (default 50)."
            | Max_Conns_Per_Address _ -> "concurrent connections per peer address; 0 = no limit (default 256)."
            | Log_Level _ -> "debug, info (default), warn or error."

/// Everything the server runs with, validated.
type Config = {
    Port: int
    Bind: IPAddress
    Redis: string option
    CertFiles: (string * string) option
    CertDir: string
    ServerId: string
    DuplicateLogin: DuplicateLoginPolicy
    DemoUsers: bool
    BcryptCost: int
    MaxLine: int
    LoginTimeout: TimeSpan
    HandshakeTimeout: TimeSpan
    SendQueue: int
    MinPassword: int
    History: int
    LoginFailures: int
    MsgRate: int
    MaxConnsPerAddress: int
    LogLevel: LogLevel
}

/// A flag's value is out of range or inconsistent; the message names the flag.
exception BadFlag of string

let private flags = [
    "port"
    "bind"
    "redis"
    "cert"
    "key"
    "cert-dir"
    "server-id"
    "duplicate-login"
    "bcrypt-cost"
    "max-line"
    "login-timeout"
    "handshake-timeout"
    "send-queue"
    "min-password"
    "history"
    "login-failures"
    "msg-rate"
    "max-conns-per-address"
    "log-level"
]

let private variable (flag: string) =
    "CHAT_" + flag.Replace('-', '_').ToUpperInvariant()

/// `CHAT_*` variables as flags, placed before the real ones: the last occurrence wins, so a flag
/// beats its variable.
let fromEnvironment (env: string -> string option) : string list = [
    for flag in flags do
        match env (variable flag) with
        | Some v when v <> "" -> yield! [ "--" + flag; v ]
        | _ -> ()
    match env (variable "demo-users") with
    | Some("1" | "true" | "yes" | "on") -> "--demo-users"
    | _ -> ()
]

let private check cond message =
    if not cond then
        raise (BadFlag message)

let private ofResults (r: ParseResults<Arg>) : Config =
    let between lo hi name v =
        check (v >= lo && v <= hi) $"--{name} must be between {lo} and {hi} (got {v})"
        v

    let bind =
        let s = r.GetResult(Bind, defaultValue = "0.0.0.0")

        match IPAddress.TryParse s with
        | true, a -> a
        | _ -> raise (BadFlag $"--bind must be an IP address (got {s})")

    let certFiles =
        match r.TryGetResult Cert, r.TryGetResult Key with
        | Some c, Some k -> Some(c, k)
        | None, None -> None
        | _ -> raise (BadFlag "--cert and --key go together")

    let level =
        match (r.GetResult(Log_Level, defaultValue = "info")).ToLowerInvariant() with
        | "debug" -> LogLevel.Debug
        | "info" -> LogLevel.Info
        | "warn" -> LogLevel.Warn
        | "error" -> LogLevel.Error
        | s -> raise (BadFlag $"--log-level must be debug, info, warn or error (got {s})")

    let serverId =
        let id =
            r.GetResult(Server_Id, defaultValue = $"{Environment.MachineName}-{Environment.ProcessId}")

        check
            (id <> "" && id |> Seq.forall (fun c -> c > ' ' && c <= '~' && c <> ':'))
            "--server-id must be printable ASCII without spaces or ':'"

        id

    {
        Port = r.GetResult(Port, defaultValue = 8000) |> between 0 65535 "port"
        Bind = bind
        Redis = r.TryGetResult Redis
        CertFiles = certFiles
        CertDir = r.GetResult(Cert_Dir, defaultValue = "certs")
        ServerId = serverId
        DuplicateLogin =
            match r.GetResult(Duplicate_Login, defaultValue = Force_Logout) with
            | Force_Logout -> DuplicateLoginPolicy.ForceLogout
            | DuplicateLoginArg.Reject -> DuplicateLoginPolicy.Reject
        DemoUsers = r.Contains Demo_Users
        BcryptCost = r.GetResult(Bcrypt_Cost, defaultValue = 12) |> between 4 31 "bcrypt-cost"
        MaxLine = r.GetResult(Max_Line, defaultValue = 4096) |> between 16 (1 <<< 20) "max-line"
        LoginTimeout =
            r.GetResult(Login_Timeout, defaultValue = 30)
            |> between 1 86400 "login-timeout"
            |> float
            |> TimeSpan.FromSeconds
        HandshakeTimeout =
            r.GetResult(Handshake_Timeout, defaultValue = 10)
            |> between 1 3600 "handshake-timeout"
            |> float
            |> TimeSpan.FromSeconds
        SendQueue = r.GetResult(Send_Queue, defaultValue = 1024) |> between 1 1_000_000 "send-queue"
        MinPassword = r.GetResult(Min_Password, defaultValue = 8) |> between 1 72 "min-password"
        History = r.GetResult(History, defaultValue = 1000) |> between 0 1_000_000 "history"
        LoginFailures =
            r.GetResult(Login_Failures, defaultValue = 5)
            |> between 0 1_000_000 "login-failures"
        MsgRate = r.GetResult(Msg_Rate, defaultValue = 50) |> between 0 1_000_000 "msg-rate"
        MaxConnsPerAddress =
            r.GetResult(Max_Conns_Per_Address, defaultValue = 256)
            |> between 0 10_000_000 "max-conns-per-address"
        LogLevel = level
    }

/// What the command line asked for.
type Parsed =
    | Run of Config
    | ShowUsage of string
    /// One line for stderr; the process exits 2.
    | Invalid of string

/// Parses the environment's flags, then the real ones.
let parse (argv: string array) (env: string -> string option) : Parsed =
    let parser = ArgumentParser.Create<Arg>(programName = "Chat.Server")
    let all = Array.append (fromEnvironment env |> Array.ofList) argv

    try
        Run(parser.ParseCommandLine(all) |> ofResults)
    with
    | :? ArguParseException as e when e.ErrorCode = ErrorCode.HelpText -> ShowUsage(parser.PrintUsage())
    | :? ArguParseException as e -> Invalid(e.Message.Split('\n').[0].Trim())
    | BadFlag message -> Invalid message
