module Chat.Client.Program

open System
open System.IO
open System.Security.Cryptography.X509Certificates
open Chat.Domain

/// Where a server started in this directory keeps its generated certificate.
[<Literal>]
let private LocalCert = "certs/server.crt"

let private isLocal (host: string) =
    host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
    || host = "127.0.0.1"
    || host = "::1"
    || host = "[::1]"

let private fail (code: int) (message: string) =
    Console.Error.WriteLine message
    code

/// The LOGIN or REGISTER line and the LOGIN line to log in again with after a reconnect (an account registered
/// once is logged in to after), or the exit code when there is no usable password.
let private loginLines (settings: Args.Settings) (user: Username) : Result<string * string, int> =
    match PasswordPrompt.Obtain user with
    | None ->
        Result.Error(
            fail ExitCode.Usage "no password: set CHAT_PASSWORD, type it at the prompt, or pipe it as the first line"
        )
    | Some password when LineText.hasForbidden password ->
        // A newline in CHAT_PASSWORD would smuggle a second command onto the wire.
        Result.Error(fail ExitCode.Usage "the password contains control characters")
    | Some password ->
        match Password.tryCreate password with
        | Result.Error Empty -> Result.Error(fail ExitCode.Usage "empty password")
        | Result.Error(TooLong n) ->
            Result.Error(
                fail
                    ExitCode.Usage
                    $"the password is {n} bytes of UTF-8; the server accepts at most {Password.MaxBytes}"
            )
        | Result.Ok _ ->
            let verb = if settings.Register then "REGISTER" else "LOGIN"
            Result.Ok($"{verb} {Username.value user} {password}", $"LOGIN {Username.value user} {password}")

/// The terminal UI only for a person at a terminal: a script redirects stdin or stdout, or passes --raw.
let private interactive (settings: Args.Settings) =
    not settings.Raw
    && not Console.IsInputRedirected
    && not Console.IsOutputRedirected

let private run (settings: Args.Settings) =
    let cas =
        match settings.Trust with
        | CaFile path -> TlsConnection.LoadCa path
        | SystemStore
        | Pinned _ -> Result.Ok(X509Certificate2Collection())

    let hint =
        match settings.Trust with
        | SystemStore when isLocal settings.Host && File.Exists LocalCert -> Some LocalCert
        | _ -> None

    let explain = ConnectError.explain settings.Trust hint

    match cas with
    | Result.Error e -> fail ExitCode.Usage (explain e)
    | Result.Ok cas ->
        let connect () =
            TlsConnection.Connect(settings.Host, settings.Port, settings.Trust, cas)

        match connect () with
        | Result.Error e -> fail ExitCode.Failed (explain e)
        | Result.Ok conn ->
            let login =
                match settings.User with
                | None -> Result.Ok None
                | Some user -> loginLines settings user |> Result.map Some

            match login with
            | Result.Error code -> code
            | Result.Ok login ->
                let server = $"{settings.Host}:{settings.Port}"

                let redial =
                    settings.Reconnect
                    |> Option.map (fun policy -> {
                        Policy = policy
                        Connect = connect
                        Explain = explain
                    })

                let relogin = Option.map snd login

                if interactive settings then
                    let env = Environment.GetEnvironmentVariable

                    let verifiedBy =
                        match settings.Trust with
                        | CaFile path -> $"CA {path}"
                        | Pinned _ -> "pin"
                        | SystemStore -> "system trust store"

                    Tui(
                        conn,
                        server,
                        verifiedBy,
                        settings.User,
                        relogin,
                        redial,
                        Panes.colourWanted env,
                        not (Panes.utf8Locale env)
                    )
                        .Run(Option.map fst login)
                else
                    let mode =
                        if settings.Raw || Console.IsOutputRedirected then
                            Render.Raw
                        else
                            Render.Readable

                    if mode = Render.Readable then
                        Console.Error.WriteLine $"* {conn.Protocol} to {server}, certificate verified"

                    Shell(conn, server, mode, settings.User, relogin, redial).Run(Option.map fst login)

[<EntryPoint>]
let main argv =
    match Args.parse argv with
    | Args.ShowHelp text ->
        Console.Out.WriteLine text
        0
    | Args.BadFlags text -> fail ExitCode.Usage text
    | Args.Run settings -> run settings
