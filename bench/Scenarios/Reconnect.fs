/// A reconnect storm (issue 12): `--reconnect-users` logged in with tokens lose their server at
/// once and all come back at once, with `RESUME` (no bcrypt) and then with `LOGIN` (bcrypt at
/// `--bcrypt-cost`). A build without `/token` runs the LOGIN storm only.
module Chat.Bench.Scenarios.Reconnect

open System
open System.Diagnostics
open System.IO
open System.Threading
open System.Threading.Tasks
open Chat.Bench
open Chat.Bench.Processes
open Chat.Bench.Report
open Chat.Bench.Scenarios.Common

/// The first `OK` or `ERR` line, passing over presence events.
let private replyOf (c: LoadClient) (ct: CancellationToken) =
    task {
        let mutable reply = null

        while isNull reply do
            match! c.ReadLineAsync ct with
            | null -> raise (UnexpectedReply "connection closed while waiting for a reply")
            | l when l.StartsWith "OK " || l.StartsWith "ERR " -> reply <- l
            | _ -> ()

        return reply
    }

/// One storm's figures: per-client time from connecting to the welcome, the time until the last
/// is back, and what the server side (the instance and redis-server) spent meanwhile.
type private Storm = {
    Times: int64 array
    Total: int64
    ServerCpuSeconds: float
    Failures: int
    FirstFailure: string
}

/// Every user connects at once and sends `line i`, back at `welcome`.
let private storm (server: Server) (ctx: Context) pin (users: int) (line: int -> string) (welcome: string) =
    task {
        let back: LoadClient array = Array.zeroCreate users
        let times = Array.create users -1L
        let failures = ref 0
        let firstFailure = ref ""
        let cpu = CpuMeter.For(ctx, [ server ])
        let t0 = Stopwatch.GetTimestamp()

        let one i =
            task {
                try
                    let started = Stopwatch.GetTimestamp()
                    let! c = LoadClient.ConnectAsync(server.Endpoint, pin, 4096, ctx.Cancel)
                    back[i] <- c
                    do! c.SendAsync(line i, ctx.Cancel)
                    let! _ = c.ExpectAsync(welcome, ctx.Cancel)
                    times[i] <- Stopwatch.GetTimestamp() - started
                with e ->
                    if Interlocked.Increment &failures.contents = 1 then
                        firstFailure.Value <- e.Message
            }
            :> Task

        do! Task.WhenAll(Array.init users (fun i -> Task.Run(fun () -> one i)))
        let total = Stopwatch.GetTimestamp() - t0
        let cpuUse = cpu.Stop()
        disposeAll back
        let ok = times |> Array.filter (fun t -> t >= 0L)
        Array.sortInPlace ok

        return {
            Times = ok
            Total = total
            ServerCpuSeconds = cpuUse.ServerSideSeconds
            Failures = failures.Value
            FirstFailure = firstFailure.Value
        }
    }

let private figures (key: string) (what: string) (s: Storm) = [
    num $"{key}_total_ms" $"{what}: until all are back" "ms" 1 (ms s.Total) |> lower
    num $"{key}_p50_ms" $"{what}: connect -> welcome p50" "ms" 1 (quantile s.Times 0.5)
    |> lower
    num $"{key}_p99_ms" $"{what}: connect -> welcome p99" "ms" 1 (quantile s.Times 0.99)
    |> lower
    num $"{key}_server_cpu_s" $"{what}: server + redis CPU" "s" 2 s.ServerCpuSeconds
    |> lower
    count $"{key}_failures" $"{what}: clients not back" "" (int64 s.Failures)
    |> lower
]

let run (ctx: Context) : Task<ScenarioResult> =
    let s = ctx.Settings
    let users = s.ReconnectUsers
    let name = tagged ctx "reconnect"
    // With Redis the instance is killed and a new one started; in memory that would lose the
    // accounts, so there the clients' connections are cut instead.
    let kills = ctx.Redis.IsSome

    let options = {
        Dll = ctx.Build.Dll
        CertDir = ctx.CertDir
        Redis = ctx.Redis |> Option.map _.Configuration
        BcryptCost = s.BcryptCost
        SendQueue = None
        Metrics = false
    }

    let started = Collections.Generic.List<Server>()

    let start () =
        printfn "  starting 1 server instance%s ..." (if kills then " with redis" else " in memory")
        let server = (startServers options "reconnect" 1).Head
        started.Add server
        server

    /// SIGKILL and a new instance on the same redis-server, or (in memory) the connections cut.
    let outage (server: Server) (clients: LoadClient array) =
        if kills then
            server.Process.Kill()
            server.Process.WaitForExit(TimeSpan.FromSeconds 10.0) |> ignore
            disposeAll clients
            start ()
        else
            disposeAll clients
            server

    task {
        try
            try
                let server = start ()
                let pin = Pin.OfPemFile(Path.Combine(ctx.CertDir, "server.crt"))
                let user i = $"rc{i}"
                let clients: LoadClient array = Array.zeroCreate users
                let tokens: string option array = Array.zeroCreate users
                let made = ref 0
                use progress = new Progress(name)
                progress.Phase("register", fun () -> $"accounts {made.Value}/{users}")

                // Each in a room of its own: no presence lines while they sign up.
                let register i ct =
                    task {
                        let! c = joinAs server.Endpoint pin 4096 (user i) (Some $"rc{i}") ct
                        do! c.SendAsync("/token", ct)
                        let! reply = replyOf c ct

                        tokens[i] <-
                            if reply.StartsWith "OK TOKEN " then
                                Some(reply.Substring "OK TOKEN ".Length)
                            else
                                None

                        return c
                    }

                do! connectMany clients (2 * Environment.ProcessorCount) made register ctx.Cancel
                let resumable = tokens |> Array.forall Option.isSome

                let how =
                    if kills then
                        "instance killed (SIGKILL) and restarted"
                    else
                        "connections cut"

                let! resumed =
                    if resumable then
                        task {
                            let server = outage server clients
                            progress.Phase("resume", fun () -> $"{users} clients RESUME at once ({how})")

                            let! r =
                                storm server ctx pin users (fun i -> $"RESUME {user i} {tokens[i].Value}") "OK RESUME "

                            return Some(server, r)
                        }
                    else
                        printfn "  [%s] this build has no /token (RESUME): LOGIN storm only" name
                        Task.FromResult None

                let server, beforeLogin =
                    match resumed with
                    | Some(server, _) -> server, [||]
                    | None -> server, clients

                // The resumed clients are closed already; the outage before the LOGIN storm is the same.
                let server = outage server beforeLogin
                progress.Phase("login", fun () -> $"{users} clients LOGIN at once ({how})")

                let! login =
                    storm server ctx pin users (fun i -> $"LOGIN {user i} {password}") "OK LOGIN "

                let failures =
                    login.Failures
                    + (resumed |> Option.map (fun (_, r) -> r.Failures) |> Option.defaultValue 0)

                return {
                    Name = "reconnect"
                    Metrics = [
                        count "users" "users reconnecting at once" "" (int64 users)
                        count "bcrypt_cost" "bcrypt cost (LOGIN)" "" (int64 s.BcryptCost)
                        match resumed with
                        | Some(_, r) ->
                            yield! figures "resume" "RESUME" r

                            num
                                "login_over_resume"
                                "LOGIN storm / RESUME storm (time)"
                                ""
                                2
                                (float login.Total / float r.Total)
                            |> lower

                            num
                                "login_over_resume_cpu"
                                "LOGIN storm / RESUME storm (server CPU)"
                                ""
                                2
                                (login.ServerCpuSeconds / r.ServerCpuSeconds)
                            |> lower
                        | None -> ()
                        yield! figures "login" "LOGIN" login
                        count "failures" "clients not back (both storms)" "" (int64 failures) |> lower
                    ]
                    Notes = [
                        $"{users} users logged in, each in a room of its own, then {how}; all reconnect at once, each on a new TLS connection, timed from connecting to OK RESUME / OK LOGIN (a restarted instance is cold: its JIT runs during the storm)"
                        $"LOGIN at bcrypt cost {s.BcryptCost} (the logins scenario's; the server's default is 12); RESUME checks a SHA-256 of the token, no bcrypt"
                        if not resumable then
                            "this build has no /token (RESUME): LOGIN storm only"
                        match resumed with
                        | Some(_, r) when r.FirstFailure <> "" -> $"first RESUME failure: {r.FirstFailure}"
                        | _ -> ()
                        if login.FirstFailure <> "" then
                            $"first LOGIN failure: {login.FirstFailure}"
                    ]
                    Violations = 0L
                    Error = None
                }
            with e ->
                for s in started do
                    if not s.Process.HasExited then
                        eprintfn "  %s, its last output:\n%s" s.Id (s.Process.OutputText 30)

                return raise e
        finally
            stopServers (List.ofSeq started)
            ctx.Redis |> Option.iter _.FlushAll()
    }
