/// The server's command line (the contract in PROTOCOL.md), and its `CHAT_*` environment variables.
module Chat.Server.Args

open System
open System.Net
open Microsoft.FSharp.Reflection
open Argu
open Chat.Domain

type DuplicateLoginArg =
    | [<CustomCommandLine "force-logout">] Force_Logout
    | [<CustomCommandLine "reject">] Reject

/// Each flag's variable is `CHAT_<FLAG>` (PROTOCOL.md), read by Argu's environment reader.
type Arg =
    | [<CustomAppSettings "CHAT_PORT">] Port of int
    | [<CustomAppSettings "CHAT_BIND">] Bind of address: string
    | [<CustomAppSettings "CHAT_REDIS">] Redis of configuration: string
    | [<CustomAppSettings "CHAT_REDIS_CA">] Redis_Ca of file: string
    | [<CustomAppSettings "CHAT_CERT">] Cert of file: string
    | [<CustomAppSettings "CHAT_KEY">] Key of file: string
    | [<CustomAppSettings "CHAT_CERT_DIR">] Cert_Dir of dir: string
    | [<CustomAppSettings "CHAT_SERVER_ID">] Server_Id of id: string
    | [<CustomAppSettings "CHAT_DUPLICATE_LOGIN">] Duplicate_Login of DuplicateLoginArg
    | [<CustomAppSettings "CHAT_DEMO_USERS">] Demo_Users
    | [<CustomAppSettings "CHAT_BCRYPT_COST">] Bcrypt_Cost of int
    | [<CustomAppSettings "CHAT_MAX_LINE">] Max_Line of bytes: int
    | [<CustomAppSettings "CHAT_LOGIN_TIMEOUT">] Login_Timeout of seconds: int
    | [<CustomAppSettings "CHAT_HANDSHAKE_TIMEOUT">] Handshake_Timeout of seconds: int
    | [<CustomAppSettings "CHAT_SEND_QUEUE">] Send_Queue of lines: int
    | [<CustomAppSettings "CHAT_MIN_PASSWORD">] Min_Password of chars: int
    | [<CustomAppSettings "CHAT_HISTORY">] History of messages: int
    | [<CustomAppSettings "CHAT_LOGIN_FAILURES">] Login_Failures of n: int
    | [<CustomAppSettings "CHAT_MSG_RATE">] Msg_Rate of n: int
    | [<CustomAppSettings "CHAT_MAX_CONNS_PER_ADDRESS">] Max_Conns_Per_Address of n: int
    | [<CustomAppSettings "CHAT_MAX_CONNS">] Max_Conns of n: int
    | [<CustomAppSettings "CHAT_REGISTER_RATE">] Register_Rate of n: int
    | [<CustomAppSettings "CHAT_TOKEN_TTL">] Token_Ttl of seconds: int
    | [<CustomAppSettings "CHAT_LOG_LEVEL">] Log_Level of level: string
    | [<CustomAppSettings "CHAT_LOG_FORMAT">] Log_Format of format: string
    | [<CustomAppSettings "CHAT_METRICS">] Metrics of endpoint: string

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Port _ -> "TLS port (default 8000; 0 picks a free one)."
            | Bind _ -> "listen address (default 0.0.0.0)."
            | Redis _ -> "Redis to share state through, host:port[,option=value...]; without it, state is in memory."
            | Redis_Ca _ ->
                "with --redis: a CA certificate (PEM) to trust for Redis' TLS certificate; implies ssl=true."
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
            | Max_Conns _ -> "concurrent connections to this instance; 0 = no limit (default 10000)."
            | Register_Rate _ -> "accounts REGISTER creates per peer address per hour; 0 = no limit (default 20)."
            | Token_Ttl _ -> "how long a /token lets RESUME log in, in seconds (default 86400)."
            | Log_Level _ -> "debug, info (default), warn or error."
            | Log_Format _ -> "text (default) or json (one JSON object a line)."
            | Metrics _ -> "address:port to serve Prometheus metrics (/metrics) and a health check (/healthz) on."

/// Everything the server runs with, validated.
type Config = {
    Port: int
    Bind: IPAddress
    Redis: string option
    /// `--redis-ca`: a CA certificate file trusted for Redis' TLS certificate.
    RedisCa: string option
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
    MaxConns: int
    RegisterRate: int
    /// How long a `/token` lets RESUME log in.
    TokenTtl: TimeSpan
    LogLevel: LogLevel
    LogFormat: LogFormat
    /// Where `/metrics` and `/healthz` are served; None: nowhere.
    Metrics: IPEndPoint option
}

/// A flag's value is out of range or inconsistent; the message names the flag.
exception BadFlag of string

/// Argu reads a flag without a value (`--demo-users`) from its variable as a bool; the variable
/// also takes the spellings a shell or compose file uses (1/0, yes/no, on/off).
let private switches (reader: IConfigurationReader) = {
    new IConfigurationReader with
        member _.Name = reader.Name

        member _.GetValue name =
            match reader.GetValue name with
            | null -> null
            | v when name = "CHAT_DEMO_USERS" ->
                match v.Trim().ToLowerInvariant() with
                | "1"
                | "yes"
                | "on" -> "true"
                | "0"
                | "no"
                | "off" -> "false"
                | _ -> v
            | v -> v
}

let private check cond message =
    if not cond then
        raise (BadFlag message)

let private variable (flag: string) =
    "CHAT_" + flag.Replace('-', '_').ToUpperInvariant()

let private ofResults (r: ParseResults<Arg>) : Config =
    // A value that came from a variable is named as that variable when it is refused.
    let fromEnvironment =
        r.GetAllResults(source = ParseSource.AppSettings)
        |> List.map (fun a ->
            (fst (FSharpValue.GetUnionFields(a, typeof<Arg>))).Name.Replace('_', '-').ToLowerInvariant())
        |> set

    let flag name =
        if fromEnvironment.Contains name then
            $"{variable name} (--{name})"
        else
            "--" + name

    let between lo hi name v =
        check (v >= lo && v <= hi) $"{flag name} must be between {lo} and {hi} (got {v})"
        v

    let bind =
        let s = r.GetResult(Bind, defaultValue = "0.0.0.0")

        match IPAddress.TryParse s with
        | true, a -> a
        | _ -> raise (BadFlag(sprintf "%s must be an IP address (got %s)" (flag "bind") s))

    let certFiles =
        match r.TryGetResult Cert, r.TryGetResult Key with
        | Some c, Some k -> Some(c, k)
        | None, None -> None
        | _ -> raise (BadFlag(sprintf "%s and %s go together" (flag "cert") (flag "key")))

    let level =
        match (r.GetResult(Log_Level, defaultValue = "info")).ToLowerInvariant() with
        | "debug" -> LogLevel.Debug
        | "info" -> LogLevel.Info
        | "warn" -> LogLevel.Warn
        | "error" -> LogLevel.Error
        | s -> raise (BadFlag(sprintf "%s must be debug, info, warn or error (got %s)" (flag "log-level") s))

    let logFormat =
        match (r.GetResult(Log_Format, defaultValue = "text")).ToLowerInvariant() with
        | "text" -> Text
        | "json" -> Json
        | s -> raise (BadFlag(sprintf "%s must be text or json (got %s)" (flag "log-format") s))

    let metrics =
        r.TryGetResult Metrics
        |> Option.map (fun s ->
            match IPEndPoint.TryParse s with
            | true, e when e.Port > 0 && s.Contains ':' -> e
            | _ -> raise (BadFlag(sprintf "%s must be address:port, such as 0.0.0.0:9100 (got %s)" (flag "metrics") s)))

    let serverId =
        let id =
            r.GetResult(Server_Id, defaultValue = $"{Environment.MachineName}-{Environment.ProcessId}")

        check
            (id <> "" && id |> Seq.forall (fun c -> c > ' ' && c <= '~' && c <> ':'))
            (sprintf "%s must be printable ASCII without spaces or ':'" (flag "server-id"))

        id

    {
        Port = r.GetResult(Port, defaultValue = 8000) |> between 0 65535 "port"
        Bind = bind
        Redis = r.TryGetResult Redis
        RedisCa =
            let ca = r.TryGetResult Redis_Ca
            check (ca.IsNone || r.Contains Redis) (sprintf "%s needs --redis" (flag "redis-ca"))
            ca
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
        MaxConns =
            r.GetResult(Max_Conns, defaultValue = 10_000)
            |> between 0 10_000_000 "max-conns"
        RegisterRate =
            r.GetResult(Register_Rate, defaultValue = 20)
            |> between 0 1_000_000 "register-rate"
        TokenTtl =
            r.GetResult(Token_Ttl, defaultValue = 86400)
            |> between 1 31_536_000 "token-ttl"
            |> float
            |> TimeSpan.FromSeconds
        LogLevel = level
        LogFormat = logFormat
        Metrics = metrics
    }

/// What the command line asked for.
type Parsed =
    | Run of Config
    | ShowUsage of string
    /// One line for stderr; the process exits 2.
    | Invalid of string

/// Parses the flags, and the `CHAT_*` variables `environment` holds (a flag beats its variable).
let parse (argv: string array) (environment: IConfigurationReader) : Parsed =
    let parser = ArgumentParser.Create<Arg>(programName = "Chat.Server")

    try
        Run(parser.Parse(argv, configurationReader = switches environment) |> ofResults)
    with
    | :? ArguParseException as e when e.ErrorCode = ErrorCode.HelpText -> ShowUsage(parser.PrintUsage())
    | :? ArguParseException as e ->
        // Argu names a variable "AppSettings entry 'CHAT_X'"; say what it is.
        let first = e.Message.Split('\n').[0].Trim()
        Invalid(first.Replace("AppSettings entry '", "environment variable '"))
    | BadFlag message -> Invalid message
