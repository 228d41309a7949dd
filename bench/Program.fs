/// Benchmarks a built chat/1 server: starts redis-server and the instances, drives them through real
/// TLS clients, prints a table and one `RESULT {json}` line.
/// Exit codes: 0 done; 1 order violated or a scenario failed; 2 bad flags or no server build;
/// 3 redis-server or a server instance did not start; 130 interrupted.
module Chat.Bench.Program

open System
open System.IO
open System.Runtime.InteropServices
open System.Threading
open Chat.Bench.Args
open Chat.Bench.Processes
open Chat.Bench.Report
open Chat.Bench.Scenarios
open Chat.Bench.Scenarios.Common

let private runScenario (ctx: Context) (round: int) (name: ScenarioName) =
    let label, run =
        match name with
        | FanOut -> "fanout", FanOut.run
        | Latency -> "latency", Latency.run
        | ScenarioName.Connections -> "connections", Connections.run
        | Logins -> "logins", Logins.run
        | Locality -> "locality", Locality.run
        | Shards -> "shards", Shards.run
        | Reconnect -> "reconnect", Scenarios.Reconnect.run
        | Paced -> "paced", Paced.run "paced" ctx.Settings.PacedRate
        | Paced1000 -> "paced-1000", Paced.run "paced-1000" 1000

    printfn ""

    match ctx.Build.Label, ctx.Settings.Rounds with
    | "", 1 -> printfn "== %s ==" label
    | "", _ -> printfn "== %s (round %d/%d) ==" label round ctx.Settings.Rounds
    | build, 1 -> printfn "== %s: %s build ==" label build
    | build, _ -> printfn "== %s: %s build (round %d/%d) ==" label build round ctx.Settings.Rounds

    let failed why = {
        Name = label
        Metrics = []
        Notes = []
        Violations = 0L
        Error = Some why
    }

    try
        Ok((run ctx).GetAwaiter().GetResult())
    with
    | StartFailed why -> Error why
    | _ when ctx.Cancel.IsCancellationRequested -> Ok(failed "interrupted")
    | e -> Ok(failed (e.GetBaseException().Message))

let private header (s: Settings) =
    let soft, hard = Proc.openFiles Environment.ProcessId
    printfn "chat/1 benchmark: %d cores, server %s" Environment.ProcessorCount s.ServerDll

    match s.Baseline with
    | Some previous ->
        printfn
            "compared with the previous build %s: every scenario runs against both, %s"
            previous
            (if s.Rounds = 1 then
                 "this build first"
             else
                 $"{s.Rounds} rounds, this build first in odd rounds, the previous one in even rounds")
    | None -> ()

    printfn
        "mode: %s; scenarios: %s"
        (if s.Redis then
             $"{s.Instances} instance(s) sharing one redis-server"
         else
             "one in-memory instance (--no-redis)")
        (s.Scenarios |> List.map (sprintf "%A") |> String.concat ", ")

    printfn
        "servers run with --msg-rate 0 --login-failures 0 --max-conns-per-address 0 so that no limit skews the figures;"

    printfn
        "fan-out with --send-queue %d; bcrypt cost %d for the load scenarios, %d for logins; open files: %d (hard %d)"
        s.SendQueue
        loadBcryptCost
        s.BcryptCost
        soft
        hard

let private configValues (s: Settings) : (string * Value) list = [
    "cores", Int(int64 Environment.ProcessorCount)
    "redis", Text(if s.Redis then "on" else "off")
    "instances", Int(int64 s.Instances)
    "load_bcrypt_cost", Int(int64 loadBcryptCost)
    "login_bcrypt_cost", Int(int64 s.BcryptCost)
    "send_queue_fanout", Int(int64 s.SendQueue)
    "server", Text s.ServerDll
    match s.Baseline with
    | Some previous -> "previous_server", Text previous
    | None -> ()
    "rounds", Int(int64 s.Rounds)
    "msg_rate", Int 0L
    "login_failures", Int 0L
    "max_conns_per_address", Int 0L
]

/// The figures of each scenario that the side-by-side summary shows.
let private headline = [
    yield!
        [ "paced"; "paced-1000" ]
        |> List.map (fun name ->
            name,
            [
                "server_cpu_us_per_delivery"
                "redis_cpu_us_per_delivery"
                "delivered_per_s"
                "p50_ms"
                "p99_ms"
                "same_p50_ms"
                "same_p99_ms"
                "cross_p50_ms"
                "cross_p99_ms"
                "cross_p999_ms"
                "lost"
                "order_violations"
            ])
    "fanout",
    [
        "delivered_per_s"
        "delivered_per_s_overall"
        "deliveries_per_server_cpu_s"
        "server_cpu_us_per_delivery"
        "lost"
        "order_violations"
    ]
    "latency", [ "p50_ms"; "p90_ms"; "p99_ms"; "p999_ms"; "max_ms"; "lost" ]
    "connections",
    [
        "rss_per_conn_kib"
        "threads_per_conn"
        "server_cpu_ms_per_conn"
        "dropped_connections"
    ]
    "logins",
    [
        "logins_per_s"
        "ratio"
        "ratio_to_bound"
        "login_p50_ms"
        "login_p99_ms"
        "cpu_ratio"
        "failures"
    ]
    "locality", [ "ratio"; "max_ratio"; "lost" ]
    "shards", [ "max_master_share_pct"; "max_master_commands_pct"; "lost" ]
    "reconnect",
    [
        "resume_total_ms"
        "resume_p99_ms"
        "login_total_ms"
        "login_p99_ms"
        "resume_server_cpu_s"
        "login_server_cpu_s"
        "failures"
    ]
]

let private run (s: Settings) : int =
    use cts = new CancellationTokenSource()
    // First Ctrl-C (or SIGTERM): stop the scenario, close the clients, stop the servers. Second: kill them.
    let onSignal (ctx: PosixSignalContext) =
        if cts.IsCancellationRequested then
            killAll ()
        else
            ctx.Cancel <- true
            printfn "interrupted: stopping clients and servers (again to kill them at once)"
            cts.Cancel()

    use _int = PosixSignalRegistration.Create(PosixSignal.SIGINT, onSignal)
    use _term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, onSignal)
    AppDomain.CurrentDomain.ProcessExit.Add(fun _ -> killAll ())
    ThreadPool.SetMinThreads(64, 64) |> ignore
    header s
    let work = Directory.CreateTempSubdirectory("chat-bench-")

    try
        try
            let redis = if s.Redis then Some(startRedis ()) else None

            use _stopRedis = {
                new IDisposable with
                    member _.Dispose() =
                        redis |> Option.iter (fun r -> (r :> IDisposable).Dispose())
            }

            redis
            |> Option.iter (fun r -> printfn "redis-server on %s (pid %d)" r.Configuration r.Pid)

            let ctx = {
                Settings = s
                Build = { Label = ""; Dll = s.ServerDll }
                Redis = redis
                CertDir = Path.Combine(work.FullName, "certs")
                Cancel = cts.Token
                Curves = Chart.LatencyCurves()
            }

            let builds =
                match s.Baseline with
                | None -> [ ctx.Build ]
                | Some previous -> [
                    { Label = "this"; Dll = s.ServerDll }
                    { Label = "previous"; Dll = previous }
                  ]

            // Every build runs once a round, one scenario after the other (this build first in odd
            // rounds), so that whatever else the machine does meanwhile falls on both alike.
            let runs = [
                for name in s.Scenarios do
                    for round in 1 .. s.Rounds do
                        let order = if round % 2 = 1 then builds else List.rev builds

                        // A build from before the hash-tagged schema cannot run on a Cluster.
                        for build in order do
                            if name <> Shards || build = builds.Head then
                                name, round, build
            ]

            let rec loop acc runs =
                match runs with
                | [] -> List.rev acc, None
                | _ when cts.IsCancellationRequested -> List.rev acc, None
                | (name, round, build) :: rest ->
                    match runScenario { ctx with Build = build } round name with
                    | Ok r -> loop ((name, build, r) :: acc) rest
                    | Error why -> List.rev acc, Some why

            let finished, startFailure = loop [] runs

            // Each scenario's runs against `build` (those that ran), by scenario.
            let runsOf (build: Build) = [
                for name in s.Scenarios do
                    match
                        finished
                        |> List.filter (fun (n, b, _) -> n = name && b = build)
                        |> List.map (fun (_, _, r) -> r)
                    with
                    | [] -> ()
                    | rs -> name, rs
            ]

            // One result per scenario: the median over the rounds.
            let thisRuns = runsOf builds.Head
            let results = thisRuns |> List.map (snd >> median)
            let all = finished |> List.map (fun (_, _, r) -> r)

            match builds with
            | [ _; previous ] ->
                let previousRuns = runsOf previous

                let ranBefore name =
                    previousRuns |> List.exists (fst >> (=) name)

                // Scenarios that ran against this build only (shards, or an interrupted run) are
                // shown on their own.
                let paired = [
                    for name, rs in thisRuns do
                        match previousRuns |> List.tryFind (fst >> (=) name) with
                        | Some(_, ps) -> rs, ps
                        | None -> ()
                ]

                let thisOnly =
                    thisRuns |> List.filter (fst >> ranBefore >> not) |> List.map (snd >> median)

                let both = paired |> List.map (fun (rs, ps) -> median rs, median ps)
                printComparison both

                if not thisOnly.IsEmpty then
                    printfn ""
                    printfn "This build only:"
                    printTable thisOnly

                printSummary headline paired
                IssueTable.print (both |> List.map (fun (a, b) -> a, Some b))

                printfn "%s" (resultLine (configValues s) (List.map fst both @ thisOnly) (Some(List.map snd both)))
            | _ ->
                printTable results
                IssueTable.print (results |> List.map (fun r -> r, None))
                printfn "%s" (resultLine (configValues s) results None)

            let title =
                "chat/1 latency CDF, " + DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'")

            if Chart.write s.Chart title ctx.Curves then
                printfn "latency chart (open it in a browser): %s" s.Chart

            match startFailure with
            | Some why ->
                eprintfn "chat-bench: %s" why

                if s.Redis then
                    eprintfn "chat-bench: if the server's Redis mode is not available yet, run with --no-redis"

                3
            | None when cts.IsCancellationRequested -> 130
            | None when all |> List.exists (fun r -> r.Violations > 0L || r.Error.IsSome) -> 1
            | None -> 0
        with StartFailed why ->
            eprintfn "chat-bench: %s" why
            3
    finally
        killAll ()

        try
            work.Delete true
        with _ ->
            ()

[<EntryPoint>]
let main argv =
    match Args.parse argv with
    | Usage text ->
        printfn "%s" text
        0
    | Invalid message ->
        eprintfn "chat-bench: %s" message
        2
    | Run s when not (File.Exists s.ServerDll) ->
        eprintfn "chat-bench: no server build at %s; run `dotnet build -c Release src/Chat.Server` first" s.ServerDll
        2
    | Run s when s.Baseline |> Option.exists (File.Exists >> not) ->
        eprintfn
            "chat-bench: no previous server build at %s; scripts/bench-baseline.sh [rev] builds one and prints its path"
            s.Baseline.Value

        2
    | Run s -> run s
