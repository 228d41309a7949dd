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

let private runScenario (ctx: Context) (name: ScenarioName) =
    let label, run =
        match name with
        | FanOut -> "fanout", FanOut.run
        | Latency -> "latency", Latency.run
        | ScenarioName.Connections -> "connections", Connections.run
        | Logins -> "logins", Logins.run

    printfn ""
    printfn "== %s ==" label

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
    "msg_rate", Int 0L
    "login_failures", Int 0L
    "max_conns_per_address", Int 0L
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
            let redis = if s.Redis then Some(Redis.Start()) else None

            use _stopRedis = {
                new IDisposable with
                    member _.Dispose() =
                        redis |> Option.iter (fun r -> (r :> IDisposable).Dispose())
            }

            redis
            |> Option.iter (fun r -> printfn "redis-server on %s (pid %d)" r.Endpoint r.Child.Pid)

            let ctx = {
                Settings = s
                Redis = redis
                CertDir = Path.Combine(work.FullName, "certs")
                Cancel = cts.Token
            }

            let rec loop acc names =
                match names with
                | [] -> List.rev acc, None
                | _ when cts.IsCancellationRequested -> List.rev acc, None
                | name :: rest ->
                    match runScenario ctx name with
                    | Ok r -> loop (r :: acc) rest
                    | Error why -> List.rev acc, Some why

            let results, startFailure = loop [] s.Scenarios
            printTable results
            printfn "%s" (resultLine (configValues s) results)

            match startFailure with
            | Some why ->
                eprintfn "chat-bench: %s" why

                if s.Redis then
                    eprintfn "chat-bench: if the server's Redis mode is not available yet, run with --no-redis"

                3
            | None when cts.IsCancellationRequested -> 130
            | None when results |> List.exists (fun r -> r.Violations > 0L || r.Error.IsSome) -> 1
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
    | Run s -> run s
