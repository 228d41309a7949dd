/// What the scenarios share: their servers, progress lines, CPU accounting, client setup, and the
/// receiving end that checks order and takes latency samples.
module Chat.Bench.Scenarios.Common

open System
open System.Diagnostics
open System.IO
open System.Net
open System.Threading
open System.Threading.Tasks
open Chat.Bench
open Chat.Bench.Args
open Chat.Bench.Processes
open Chat.Bench.Report
open Chat.Testing

/// A server build the scenarios run against.
type Build = {
    /// "this" or "previous" when two builds are compared (--baseline); empty otherwise.
    Label: string
    Dll: string
}

type Context = {
    Settings: Settings
    Build: Build
    Redis: RedisServer option
    CertDir: string
    Cancel: CancellationToken
    /// Latency samples for the chart, from every scenario that takes them.
    Curves: Chart.LatencyCurves
}

/// A scenario's name in progress lines, with the build it runs against when two are compared.
let tagged (ctx: Context) (name: string) =
    if ctx.Build.Label = "" then
        name
    else
        $"{name} {ctx.Build.Label}"

/// The cost the servers hash with in the load scenarios: setting up accounts is not what they measure.
let loadBcryptCost = 4

let password = "bench-password"

/// Runs `body` against `count` fresh instances on `redis` (their `--redis`; None: in memory), each
/// serving `/metrics` on a port of its own when `metrics`.
let withServersOn
    (ctx: Context)
    (redis: string option)
    (metrics: bool)
    (prefix: string)
    (count: int)
    (bcryptCost: int)
    (sendQueue: int option)
    (body: Server list -> Pin -> Task<'a>)
    : Task<'a> =
    task {
        let options = {
            Dll = ctx.Build.Dll
            CertDir = ctx.CertDir
            Redis = redis
            BcryptCost = bcryptCost
            SendQueue = sendQueue
            Metrics = metrics
        }

        printfn
            "  starting %d server instance(s)%s%s ..."
            count
            (if redis.IsSome then " with redis" else " in memory")
            (if ctx.Build.Label = "" then
                 ""
             else
                 $", {ctx.Build.Label} build ({ctx.Build.Dll})")

        let servers = startServers options prefix count

        try
            try
                let pin = Pin.OfPemFile(Path.Combine(ctx.CertDir, "server.crt"))
                return! body servers pin
            with e ->
                // Say what the servers were doing when the scenario broke.
                for s in servers do
                    let state = if s.Process.HasExited then "exited" else "running"
                    eprintfn "  %s (%s), its last output:\n%s" s.Id state (s.Process.OutputText 30)

                return raise e
        finally
            stopServers servers
    }

/// Runs `body` against `count` fresh instances (sharing the run's redis-server, emptied afterwards).
let withServers
    (ctx: Context)
    (prefix: string)
    (count: int)
    (bcryptCost: int)
    (sendQueue: int option)
    (body: Server list -> Pin -> Task<'a>)
    : Task<'a> =
    task {
        try
            let redis = ctx.Redis |> Option.map _.Configuration
            return! withServersOn ctx redis false prefix count bcryptCost sendQueue body
        finally
            ctx.Redis |> Option.iter _.FlushAll()
    }

/// A progress line every second: scenario, elapsed time, phase and whatever `Status` says.
type Progress(name: string) =
    let clock = Stopwatch.StartNew()
    let mutable phase = "start"
    let mutable status: unit -> string = fun () -> ""

    let timer =
        new Timer(
            (fun _ -> printfn "  [%s] %5.1fs %-8s %s" name clock.Elapsed.TotalSeconds phase (status ())),
            null,
            1000,
            1000
        )

    member _.Phase(p: string, s: unit -> string) =
        phase <- p
        status <- s

    interface IDisposable with
        member _.Dispose() = timer.Dispose()

/// CPU used over one phase: the figures for the table, and the seconds the server side (the
/// instances and redis-server) spent, to state results per server CPU-second. Those hold up
/// better than rates when other processes compete for the cores.
type CpuUse = {
    Metrics: Metric list
    ServerSideSeconds: float
    /// The server instances' CPU seconds alone, without redis-server.
    InstanceSeconds: float
    RedisSeconds: float
}

/// CPU time of the servers, redis and the benchmark itself over one phase, in % of one core.
type CpuMeter(procs: (string * int) list) =
    let clock = Stopwatch.StartNew()
    let before = procs |> List.map (fun (_, pid) -> Proc.cpuSeconds pid)
    let machineBefore = Proc.machineBusySeconds ()

    static member For(ctx: Context, servers: Server list) =
        CpuMeter(
            [
                for s in servers do
                    yield s.Id, s.Pid
                match ctx.Redis with
                | Some r -> yield "redis", r.Pid
                | None -> ()
                yield "bench", Environment.ProcessId
            ]
        )

    /// Metrics `cpu_<name>_pct` for each process, their total, and what the rest of the machine
    /// used meanwhile (other processes compete for the same cores and skew the figures).
    member _.Stop() : CpuUse =
        let wall = clock.Elapsed.TotalSeconds

        let seconds =
            List.map2 (fun (name, pid) b -> name, Proc.cpuSeconds pid - b) procs before

        let pct (_, s) = s / wall * 100.0
        let ours = seconds |> List.sumBy pct
        let machine = (Proc.machineBusySeconds () - machineBefore) / wall * 100.0
        let cores = Environment.ProcessorCount
        let isRedis (name: string) = name.StartsWith "redis"

        let redis = seconds |> List.filter (fst >> isRedis) |> List.sumBy snd

        let instances =
            seconds
            |> List.filter (fun (name, _) -> name <> "bench" && not (isRedis name))
            |> List.sumBy snd

        {
            Metrics = [
                for name, s in seconds do
                    yield num $"cpu_{name}_pct" $"CPU {name}" "% of 1 core" 0 (pct (name, s))
                yield
                    num
                        "cpu_total_pct"
                        "CPU servers+redis+bench"
                        $"%% of 1 core ({cores} cores = {cores * 100}%%)"
                        0
                        ours
                yield num "cpu_other_pct" "CPU other processes" "% of 1 core" 0 (max 0.0 (machine - ours))
            ]
            ServerSideSeconds = instances + redis
            InstanceSeconds = instances
            RedisSeconds = redis
        }

/// Connects, reads HELLO, registers `user` (and so logs in), and joins `room` when given.
let joinAs
    (endpoint: IPEndPoint)
    (pin: Pin)
    (bufferSize: int)
    (user: string)
    (room: string option)
    (ct: CancellationToken)
    =
    task {
        let! client = LoadClient.ConnectAsync(endpoint, pin, bufferSize, ct)

        try
            do! client.SendAsync($"REGISTER {user} {password}", ct)
            let! _ = client.ExpectAsync("OK REGISTER ", ct)

            match room with
            | Some r ->
                do! client.SendAsync($"/join {r}", ct)
                let! _ = client.ExpectAsync("OK JOIN ", ct)
                ()
            | None -> ()

            return client
        with e ->
            (client :> IDisposable).Dispose()
            return raise e
    }

/// Fills `into` with `make i` for every index, `concurrency` at a time; `made` counts them.
let connectMany
    (into: 'a array)
    (concurrency: int)
    (made: int ref)
    (make: int -> CancellationToken -> Task<'a>)
    (ct: CancellationToken)
    : Task =
    let options =
        ParallelOptions(MaxDegreeOfParallelism = concurrency, CancellationToken = ct)

    Parallel.ForEachAsync(
        seq { 0 .. into.Length - 1 },
        options,
        Func<int, CancellationToken, ValueTask>(fun i ct ->
            ValueTask(
                task {
                    let! client = make i ct
                    into[i] <- client
                    Interlocked.Increment &made.contents |> ignore
                }
            ))
    )

let disposeAll (clients: #IDisposable array) =
    for c in clients do
        if not (isNull (box c)) then
            c.Dispose()

let ms (ticks: int64) =
    float ticks * 1000.0 / float Stopwatch.Frequency

let seconds (ticks: int64) = float ticks / float Stopwatch.Frequency

let ticksOf (span: TimeSpan) =
    int64 (span.TotalSeconds * float Stopwatch.Frequency)

/// The `p` quantile (0..1) of sorted values; NaN when there are none.
let quantile (sorted: int64 array) (p: float) =
    if sorted.Length = 0 then
        nan
    else
        sorted[max 0 (min (sorted.Length - 1) (int (ceil (p * float sorted.Length)) - 1))]
        |> ms

/// Waits until `isDone ()`, or until `progress ()` has not moved for `stall`.
let waitFor (isDone: unit -> bool) (progress: unit -> int64) (stall: TimeSpan) (ct: CancellationToken) : Task =
    task {
        let mutable last = progress ()
        let mutable since = Stopwatch.GetTimestamp()

        while not (isDone ()) && Stopwatch.GetElapsedTime since < stall do
            do! Task.Delay(20, ct)
            let now = progress ()

            if now <> last then
                last <- now
                since <- Stopwatch.GetTimestamp()
    }

/// The drain phase: waits until `count ()` reaches `expected`, every pump has ended, or nothing
/// has arrived for 5 s.
let drain (progress: Progress) (what: string) (count: unit -> int64) (expected: int64) (pumps: Task array) ct =
    progress.Phase("drain", fun () -> $"{what} {count ():N0}/{expected:N0}")
    let finished () = pumps |> Array.forall _.IsCompleted
    waitFor (fun () -> count () >= expected || finished ()) count (TimeSpan.FromSeconds 5.0) ct

/// One room member's receiving end: counts benchmark messages, checks each sender's order and,
/// when asked, records send-to-receipt latency. `own` is the sender index of this member (or -1):
/// its own messages coming back release its sender's window.
type Receiver(senders: int, own: int, measureLatency: bool) =
    let last = Array.zeroCreate<int64> senders
    // Sized up front when measuring: growing it means large copies while latency is measured.
    let latencies =
        Collections.Generic.List<int64>(if measureLatency then 1 <<< 16 else 0)

    let mutable received = 0L
    let mutable violations = 0L
    let mutable errors = 0L
    let mutable firstError = ""
    let mutable measureFrom = Int64.MaxValue

    member val Echo = new SemaphoreSlim(0)

    member this.Handle(line: ReadOnlySpan<byte>) =
        match BenchMsg.tryParse line with
        | ValueSome m when m.Sender >= 0 && m.Sender < senders ->
            received <- received + 1L

            if m.Seq <= last[m.Sender] then
                violations <- violations + 1L
            else
                Volatile.Write(&last[m.Sender], m.Seq)

            if measureLatency && m.Ticks >= measureFrom then
                latencies.Add(Stopwatch.GetTimestamp() - m.Ticks)

            if m.Sender = own && this.Echo.CurrentCount = 0 then
                this.Echo.Release() |> ignore
        | _ ->
            if line.StartsWith(ReadOnlySpan "ERR "B) then
                errors <- errors + 1L

                if firstError = "" then
                    firstError <- Text.Encoding.UTF8.GetString line

    member this.Handler = LineHandler(fun line -> this.Handle line)
    member _.Received = Volatile.Read &received
    member _.Violations = violations
    member _.Errors = errors
    member _.FirstError = firstError
    /// The highest sequence number seen from `sender`.
    member _.Last(sender: int) = Volatile.Read &last[sender]

    /// Latency samples only for messages sent at or after this Stopwatch timestamp.
    member _.MeasureFrom
        with set v = measureFrom <- v

    member _.Latencies = latencies
