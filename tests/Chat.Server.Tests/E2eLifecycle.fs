namespace Chat.Server.Tests

open System
open System.IO
open NUnit.Framework

/// Starting and stopping a server: signals, bad flags, certificates, `CHAT_*` variables
/// (PROTOCOL.md "Starting a server").
[<TestFixture>]
type E2eLifecycle() =
    inherit ServerFixture([])

    let exitWithin (server: ServerProcess) =
        match server.WaitForExit(TimeSpan.FromSeconds 30.0) with
        | Some code -> code
        | None -> failwith $"the server still runs 30 s after the signal\n{server.OutputText()}"

    /// Exit code 2 and one clear line on stderr, naming `mentions`.
    let refusedWith (mentions: string) (result: ExitResult) =
        let text = String.concat "\n" (result.StdOut @ result.StdErr)
        Assert.That(result.Code, Is.EqualTo 2, text)
        let lines = result.StdErr |> List.filter (String.IsNullOrWhiteSpace >> not)
        Assert.That(lines, Has.Length.EqualTo 1, text)
        Assert.That(lines.Head, Does.Contain(mentions).IgnoreCase, text)
        Assert.That(result.StdOut |> List.exists (fun l -> l.Contains "listening on"), Is.False, text)

    [<TestCase("TERM")>]
    [<TestCase("INT")>]
    member this.``on SIGTERM or SIGINT, clients get SYS SHUTDOWN and the server exits 0``(signal: string) =
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

        Assert.That(exitWithin server, Is.EqualTo 0, server.OutputText())

    [<Test>]
    member this.``a server without clients exits 0 on SIGTERM``() =
        use server = ServerProcess.Start()
        server.Stop()
        Assert.That(exitWithin server, Is.EqualTo 0, server.OutputText())

    [<TestCase("--no-such-flag", "no-such-flag")>]
    [<TestCase("--port notanumber", "port")>]
    [<TestCase("--port 70000", "port")>]
    [<TestCase("--bind not-an-address", "bind")>]
    [<TestCase("--duplicate-login sometimes", "duplicate-login")>]
    [<TestCase("--bcrypt-cost 3", "bcrypt-cost")>]
    [<TestCase("--max-line 0", "max-line")>]
    [<TestCase("--cert only-a-cert.crt", "key")>]
    member _.``a bad flag is one line on stderr and exit code 2``(flags: string, mentions: string) =
        ServerProcess.Run(flags.Split ' ' |> List.ofArray) |> refusedWith mentions

    [<Test>]
    member _.``a bad CHAT_* variable is one line on stderr and exit code 2``() =
        ServerProcess.Run([], env = [ "CHAT_MAX_LINE", "5" ]) |> refusedWith "max-line"

    [<Test>]
    member _.``a certificate that cannot be read is one line on stderr and exit code 2``() =
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

    [<Test>]
    member this.``--cert and --key serve the given certificate``() =
        let crt = this.Server.CertFile
        let key = Path.Combine(this.Server.CertDir, "server.key")
        use other = ServerProcess.Start [ "--cert"; crt; "--key"; key ]
        Assert.That(File.Exists other.CertFile, Is.False, "nothing generated into --cert-dir")
        let c = TestClient.Connect(other.Port, crt)
        use _ = c
        Assert.That(c.Command "/ping pinned", Is.EqualTo "OK PONG pinned")

    [<Test>]
    member this.``without --server-id the HELLO id names the process``() =
        let c = this.Connect()
        let id = c.Hello.Split(' ')[2]
        Assert.That(id, Does.Contain(string this.Server.Pid))

    [<Test>]
    member this.``CHAT_* variables apply, and a flag beats its variable``() =
        let env = [
            "CHAT_SERVER_ID", "from-env"
            "CHAT_PORT", "1"
            "CHAT_MAX_LINE", "32"
            "CHAT_DEMO_USERS", "1"
            "CHAT_DUPLICATE_LOGIN", "reject"
        ]

        use server = ServerProcess.Start([ "--server-id"; "from-flag" ], env = env)
        Assert.That(server.Port, Is.Not.EqualTo 1, "--port 0 beats CHAT_PORT")
        let c = this.ConnectTo(server, "env")
        Assert.That(c.Hello, Does.StartWith "HELLO chat/1 from-flag ")
        c.Login("alice", "password123")
        Assert.That(c.Command(String('x', 33)), Does.StartWith "ERR LINE_TOO_LONG ")

        Assert.That(
            this.ConnectTo(server, "again").Command "LOGIN alice password123",
            Does.StartWith "ERR DUPLICATE_LOGIN "
        )
