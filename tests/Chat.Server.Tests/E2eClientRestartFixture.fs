namespace Chat.Server.Tests

open System
open System.Collections.Generic
open System.IO
open System.Text.RegularExpressions
open Expecto
open Chat.Testing
open Chat.Domain

/// Servers that a test kills and starts again on the same port with the same certificate, the Redis
/// behind them (none, in memory, unless `UseRedis`), the CLI clients that must outlive them, and line clients.
type RestartFixture() =
    let certDir =
        Path.Combine(Path.GetTempPath(), "chat-e2e-restart-" + Guid.NewGuid().ToString "N")

    let mutable redis: RedisServer option = None
    let servers = List<ServerProcess>()
    let chats = List<ChildProcess>()
    let clients = List<LineClient>()

    /// The servers started from now on share a standalone redis-server.
    member _.UseRedis() = redis <- Some(new RedisServer())

    /// A server with `--demo-users` and a `--metrics` port (returned with it), on `port` (0: a free one).
    member _.Start(port: int) : ServerProcess * int =
        let metrics = Ports.free ()

        let flags = [
            "--port"
            string port
            "--demo-users"
            "--metrics"
            $"127.0.0.1:{metrics}"
            yield!
                redis
                |> Option.map (fun r -> [ "--redis"; r.Address ])
                |> Option.defaultValue []
        ]

        let s =
            ServerProcess.Start(flags, certDir = certDir, name = $"server{servers.Count + 1}")

        servers.Add s
        s, metrics

    /// The CLI client's command line as `user`, for `server` (`--ca`), with quick reconnects, then `args`.
    member _.ClientArgs(server: ServerProcess, user: string, args: string list) = [
        Paths.clientDll.Value
        "--port"
        string server.Port
        "--ca"
        server.CertFile
        "--user"
        user
        "--reconnect-min"
        "0.2"
        "--reconnect-max"
        "0.4"
        yield! args
    ]

    /// The CLI client as `alice` (CHAT_PASSWORD) with `--ca` and quick reconnects, then `args`; its stdin stays
    /// open for `WriteLine`.
    member this.Chat(server: ServerProcess, args: string list) : ChildProcess =
        let args = this.ClientArgs(server, "alice", args)

        let c =
            ChildProcess.Start(
                Paths.dotnetHost.Value,
                args,
                name = $"chat{chats.Count + 1}",
                env = [ "CHAT_PASSWORD", "password123" ],
                scrubPrefixes = [ "CHAT_" ],
                workingDirectory = Path.GetTempPath()
            )

        chats.Add c
        c

    /// `user` (a demo user) logged in on `server`, in `room`.
    member _.Member(server: ServerProcess, user: string, password: string, room: string) : LineClient =
        let c = LineClient.Connect(server.Port, server.CertFile, user)
        clients.Add c
        c.Login(user, password)
        Expect.equal (c.Command $"/join {room}") $"OK JOIN {room}" $"{user} joins {room}"
        c

    interface ITestScope with
        member _.EndTest() =
            let malformed = [
                for c in clients do
                    for line in c.Received do
                        if (ServerLine.parse line).IsNone then
                            $"[{c.Name}] {line}"
            ]

            for c in clients do
                (c :> IDisposable).Dispose()

            clients.Clear()
            malformed

        member _.Diagnostics() =
            [
                for c in chats -> $"{c.Name} output:\n{c.OutputText 80}"
                for s in servers -> $"{s.Args |> List.head} {s.Port} output:\n{s.OutputText 60}"
            ]
            |> String.concat "\n"

    interface IDisposable with
        member _.Dispose() =
            for c in clients do
                (c :> IDisposable).Dispose()

            for c in chats do
                (c :> IDisposable).Dispose()

            for s in servers do
                (s :> IDisposable).Dispose()

            redis |> Option.iter (fun r -> (r :> IDisposable).Dispose())

            try
                Directory.Delete(certDir, true)
            with :? DirectoryNotFoundException ->
                ()

/// Waiting on what the CLI client prints.
module ChatRun =
    let timeout = TimeSpan.FromSeconds 20.0

    let waitOut (c: ChildProcess) (what: string) (pred: string -> bool) : string =
        Poll.untilSome timeout $"{c.Name} to print {what}" (fun () -> c.StdOut |> List.tryFind pred)

    let waitErr (c: ChildProcess) (what: string) (pred: string -> bool) : string =
        Poll.untilSome timeout $"{c.Name} to say {what} on stderr" (fun () -> c.StdErr |> List.tryFind pred)

    /// Waits until `line` has been printed `n` times.
    let waitCount (c: ChildProcess) (n: int) (line: string) =
        Poll.until timeout $"{c.Name} to print '{line}' {n} times" (fun () ->
            c.StdOut |> List.filter ((=) line) |> List.length >= n)

    let exitCode (c: ChildProcess) : int =
        match c.WaitForExit timeout with
        | Some code -> code
        | None -> failtest $"{c.Name} still runs after {timeout.TotalSeconds} s"

    let reconnects (c: ChildProcess) =
        c.StdErr |> List.filter (fun l -> l.Contains "reconnecting in")

    /// A run of 40 or more token characters: a resume token is 43.
    let private tokenLike = Regex @"[A-Za-z0-9_-]{40,}"

    let showsNoToken (c: ChildProcess) =
        for line in c.Output do
            Expect.isFalse (tokenLike.IsMatch line || line.Contains "TOKEN") $"{c.Name} printed a token: {line}"

    /// `who` says `text` in the room: the id of its MSG.
    let say (who: LineClient) (text: string) =
        who.Send text

        let line =
            who.ExpectMatch((fun l -> l.StartsWith "MSG " && l.EndsWith $" {text}"), $"MSG {text}")

        let _, id, _, _ = Lines.msg line
        id

    let logins (metrics: int) (command: string) (outcome: string) =
        PrometheusText.value (Scrape.metrics metrics) "chat_logins_total" [ "command", command; "outcome", outcome ]
