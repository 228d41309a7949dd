namespace Chat.Server.Tests

open System
open System.IO
open Expecto
open Chat.Testing

/// Starting and stopping a server: signals, bad flags, certificates, `CHAT_*` variables
/// (PROTOCOL.md "Starting a server").
module E2eLifecycle =
    let private exitWithin (server: ServerProcess) =
        match server.WaitForExit(TimeSpan.FromSeconds 30.0) with
        | Some code -> code
        | None -> failwith $"the server still runs 30 s after the signal\n{server.OutputText()}"

    /// Exit code 2 and one clear line on stderr, naming `mentions`.
    let private refusedWith (mentions: string) (result: ExitResult) =
        let text = String.concat "\n" (result.StdOut @ result.StdErr)
        Expect.equal result.Code 2 text
        let lines = result.StdErr |> List.filter (String.IsNullOrWhiteSpace >> not)
        Expect.hasLength lines 1 text
        Expect.stringContains (lines.Head.ToLowerInvariant()) (mentions.ToLowerInvariant()) text
        Expect.isFalse (result.StdOut |> List.exists (fun l -> l.Contains "listening on")) text

    [<Tests>]
    let tests =
        ServerSuite.tests "E2eLifecycle" [] [
            yield!
                cases "on SIGTERM or SIGINT, clients get SYS SHUTDOWN and the server exits 0" [ "TERM"; "INT" ]
                <| fun (this: ServerFixture) (signal: string) ->
                    use server = ServerProcess.Start()
                    let name = this.Name "bye"
                    let member' = this.ConnectTo(server, name)
                    member'.Register(name, ServerFixture.Password)
                    let anonymous = this.ConnectTo(server, "anonymous")
                    anonymous.Sync()

                    if signal = "TERM" then
                        server.Stop()
                    else
                        server.Interrupt()

                    for c in [ member'; anonymous ] do
                        c.ExpectPrefix "SYS SHUTDOWN " |> ignore
                        c.WaitClosed()

                    Expect.equal (exitWithin server) 0 (server.OutputText())

            case "a server without clients exits 0 on SIGTERM"
            <| fun (_: ServerFixture) ->
                use server = ServerProcess.Start()
                server.Stop()
                Expect.equal (exitWithin server) 0 (server.OutputText())
            yield!
                cases "a bad flag is one line on stderr and exit code 2" [
                    ("--no-such-flag", "no-such-flag")
                    ("--port notanumber", "port")
                    ("--port 70000", "port")
                    ("--bind not-an-address", "bind")
                    ("--duplicate-login sometimes", "duplicate-login")
                    ("--bcrypt-cost 3", "bcrypt-cost")
                    ("--max-line 0", "max-line")
                    ("--cert only-a-cert.crt", "key")
                ]
                <| fun (_: ServerFixture) (flags: string, mentions: string) ->
                    ServerProcess.Run(flags.Split ' ' |> List.ofArray) |> refusedWith mentions

            case "a bad CHAT_* variable is one line on stderr and exit code 2"
            <| fun (_: ServerFixture) -> ServerProcess.Run([], env = [ "CHAT_MAX_LINE", "5" ]) |> refusedWith "max-line"

            case "a certificate that cannot be read is one line on stderr and exit code 2"
            <| fun (_: ServerFixture) ->
                let dir =
                    Path.Combine(Path.GetTempPath(), "chat-e2e-" + Guid.NewGuid().ToString "N")

                Directory.CreateDirectory dir |> ignore

                try
                    let missing = Path.Combine(dir, "missing.crt")

                    ServerProcess.Run [ "--cert"; missing; "--key"; Path.Combine(dir, "missing.key") ]
                    |> refusedWith "missing"

                    let garbage = Path.Combine(dir, "garbage.pem")
                    File.WriteAllText(garbage, "this is not a certificate\n")

                    ServerProcess.Run [ "--cert"; garbage; "--key"; garbage ]
                    |> refusedWith "garbage"

                    ServerProcess.Run [ "--cert-dir"; "/proc/chat-e2e-cannot-exist" ]
                    |> refusedWith "chat-e2e-cannot-exist"
                finally
                    Directory.Delete(dir, true)

            case "--cert and --key serve the given certificate"
            <| fun (this: ServerFixture) ->
                let crt = this.Server.CertFile
                let key = Path.Combine(this.Server.CertDir, "server.key")
                use other = ServerProcess.Start [ "--cert"; crt; "--key"; key ]
                Expect.isFalse (File.Exists other.CertFile) "nothing generated into --cert-dir"
                let c = LineClient.Connect(other.Port, crt)
                use _ = c
                Expect.equal (c.Command "/ping pinned") "OK PONG pinned" "c.Command '/ping pinned'"

            case "without --server-id the HELLO id names the process"
            <| fun (this: ServerFixture) ->
                let c = this.Connect()
                let id = c.Hello.Split(' ')[2]
                Expect.stringContains id (string this.Server.Pid) "id"

            case "CHAT_* variables apply, and a flag beats its variable"
            <| fun (this: ServerFixture) ->
                let env = [
                    "CHAT_SERVER_ID", "from-env"
                    "CHAT_PORT", "1"
                    "CHAT_MAX_LINE", "32"
                    "CHAT_DEMO_USERS", "1"
                    "CHAT_DUPLICATE_LOGIN", "reject"
                ]

                use server = ServerProcess.Start([ "--server-id"; "from-flag" ], env = env)
                Expect.notEqual server.Port 1 "--port 0 beats CHAT_PORT"
                let c = this.ConnectTo(server, "env")
                Expect.stringStarts c.Hello "HELLO chat/1 from-flag " "c.Hello"
                c.Login("alice", "password123")
                Expect.stringStarts (c.Command(String('x', 33))) "ERR LINE_TOO_LONG " "c.Command(String('x', 33))"

                Expect.stringStarts
                    (this.ConnectTo(server, "again").Command "LOGIN alice password123")
                    "ERR DUPLICATE_LOGIN "
                    "this.ConnectTo(server, 'again').Command 'LOGIN alice password123'"
        ]
