/// Logins per second at the configured bcrypt cost, each on a new TLS connection, against what
/// bcrypt alone does on this machine's cores (the same BCrypt.Net-Next implementation, in-process).
module Chat.Bench.Scenarios.Logins

open System
open System.Diagnostics
open System.Threading
open System.Threading.Tasks
open Chat.Bench
open Chat.Bench.Report
open Chat.Bench.Scenarios.Common

let private hashAt (cost: int) =
    BCrypt.Net.BCrypt.HashPassword(password, BCrypt.Net.BCrypt.GenerateSalt(cost, 'b'))

/// What bcrypt alone does here: verifications per second with one thread per core, per CPU second,
/// and what the rest of the machine used meanwhile (in % of one core).
type private Baseline = {
    PerSecond: float
    PerCpuSecond: float
    OthersPct: float
}

/// Runs bcrypt verifications on one thread per core for `duration`, after a warm-up at the lowest
/// cost (so that the measured code is fully compiled, as it is in a running server).
let private baseline (cost: int) (duration: TimeSpan) : Baseline =
    let cheap = hashAt 4
    let warmUntil = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 2L

    while Stopwatch.GetTimestamp() < warmUntil do
        BCrypt.Net.BCrypt.Verify(password, cheap) |> ignore

    let hash = hashAt cost
    let counts = Array.zeroCreate<int> Environment.ProcessorCount
    let finished = Array.create counts.Length 1.0
    let own0 = Processes.Proc.cpuSeconds Environment.ProcessId
    let machine0 = Processes.Proc.machineBusySeconds ()
    let clock = Stopwatch.StartNew()

    let work i () =
        while clock.Elapsed < duration do
            if BCrypt.Net.BCrypt.Verify(password, hash) then
                counts[i] <- counts[i] + 1
                finished[i] <- clock.Elapsed.TotalSeconds

    let threads =
        Array.init counts.Length (fun i -> Thread(work i, IsBackground = true))

    for t in threads do
        t.Start()

    for t in threads do
        t.Join()

    let wall = clock.Elapsed.TotalSeconds
    let own = Processes.Proc.cpuSeconds Environment.ProcessId - own0
    let machine = Processes.Proc.machineBusySeconds () - machine0

    {
        PerSecond = Array.map2 (fun n t -> float n / t) counts finished |> Array.sum
        PerCpuSecond = float (Array.sum counts) / own
        OthersPct = max 0.0 ((machine - own) / wall * 100.0)
    }

/// One login cycle: connect (TLS), LOGIN, `/quit`. The time from LOGIN to `OK LOGIN`, in ticks.
let private loginOnce endpoint pin (user: string) (ct: CancellationToken) =
    task {
        use! c = LoadClient.ConnectAsync(endpoint, pin, 4096, ct)
        let sentAt = Stopwatch.GetTimestamp()
        do! c.SendAsync($"LOGIN {user} {password}", ct)
        let! _ = c.ExpectAsync("OK LOGIN ", ct)
        let took = Stopwatch.GetTimestamp() - sentAt
        do! c.SendAsync("/quit", ct)
        let! _ = c.ExpectAsync("OK QUIT", ct)
        return took
    }

let run (ctx: Context) : Task<ScenarioResult> =
    let s = ctx.Settings
    let n = s.Instances
    let cost = s.BcryptCost
    let clients = s.LoginClients

    printfn
        "  [%s] bcrypt baseline: %d threads, cost %d, %.0f s ..."
        (tagged ctx "logins")
        Environment.ProcessorCount
        cost
        s.BaselineDuration.TotalSeconds

    let bcrypt = baseline cost s.BaselineDuration

    printfn
        "  [%s] bcrypt baseline: %.1f verifications/s, %.1f per CPU second (other processes used %.0f%% of a core)"
        (tagged ctx "logins")
        bcrypt.PerSecond
        bcrypt.PerCpuSecond
        bcrypt.OthersPct

    withServers ctx "login" n cost None (fun servers pin ->
        task {
            let endpoints = servers |> List.map _.Endpoint |> Array.ofList
            let users = Array.init clients (fun i -> $"login{i}")
            let registered: LoadClient array = Array.zeroCreate clients
            let made = ref 0
            let logins = ref 0
            let failures = ref 0
            let firstFailure = ref ""
            use progress = new Progress(tagged ctx "logins")

            progress.Phase("register", fun () -> $"accounts {made.Value}/{clients}")
            let regStart = Stopwatch.GetTimestamp()

            let register i ct =
                task {
                    let! c = joinAs endpoints[i % n] pin 4096 users[i] None ct
                    do! c.SendAsync("/quit", ct)
                    let! _ = c.ExpectAsync("OK QUIT", ct)
                    return c
                }

            try
                do! connectMany registered clients made register ctx.Cancel
            finally
                disposeAll registered

            let regTime = seconds (Stopwatch.GetTimestamp() - regStart)

            // A fresh server compiles its login path while the first logins run: not its steady
            // state. The clients log in without a break from the warm-up to the end of the measured
            // window; what counts is what completes inside it (a login takes seconds at cost 12, so
            // waiting for the last ones to finish would count a tail with idle cores).
            let t0 = Stopwatch.GetTimestamp() + ticksOf s.LoginWarmup
            let deadline = t0 + ticksOf s.LoginDuration

            let worker i =
                task {
                    let times = Collections.Generic.List<int64>()

                    while Stopwatch.GetTimestamp() < deadline && not ctx.Cancel.IsCancellationRequested do
                        try
                            let! took = loginOnce endpoints[i % n] pin users[i] ctx.Cancel
                            let at = Stopwatch.GetTimestamp()
                            Interlocked.Increment &logins.contents |> ignore

                            if at >= t0 && at < deadline then
                                times.Add took
                        with
                        | :? OperationCanceledException -> ()
                        | e ->
                            if Interlocked.Increment &failures.contents = 1 then
                                firstFailure.Value <- e.Message

                    return times.ToArray()
                }

            progress.Phase(
                "login",
                fun () ->
                    let phase =
                        if Stopwatch.GetTimestamp() < t0 then
                            "warm-up"
                        else
                            "measured"

                    $"{phase}, logins {logins.Value:N0}, failures {failures.Value}"
            )

            let loginCount () = int64 (Volatile.Read &logins.contents)

            let window =
                Window.measureWindow (fun () -> CpuMeter.For(ctx, servers)) loginCount t0 deadline ctx.Cancel

            let! times = Task.WhenAll(Array.init clients worker)
            let! window = window
            let cpuUse = window.Cpu
            let samples = Array.concat times
            Array.sortInPlace samples
            let loginsPerSecond = float window.Deliveries / window.Seconds
            let bound = bcrypt.PerCpuSecond * float Environment.ProcessorCount

            return {
                Name = "logins"
                Metrics = [
                    count "bcrypt_cost" "bcrypt cost (servers and baseline)" "" (int64 cost)
                    count "instances" "instances" "" (int64 n)
                    count "clients" "clients logging in concurrently" "" (int64 clients)
                    count "cores" "cores (baseline threads)" "" (int64 Environment.ProcessorCount)
                    num "baseline_per_s" "bcrypt verifications / s (in-process)" "/s" 1 bcrypt.PerSecond
                    num "baseline_cpu_other_pct" "CPU other processes during baseline" "% of 1 core" 0 bcrypt.OthersPct
                    num "logins_per_s" "logins / s (new TLS connection each)" "/s" 1 loginsPerSecond
                    |> higher
                    num "ratio" "logins / bcrypt baseline" "" 2 (loginsPerSecond / bcrypt.PerSecond)
                    |> higher
                    // What bcrypt does with every core to itself: its CPU cost does not move when other
                    // processes take the cores, its rate per wall second does.
                    num "bcrypt_bound_per_s" "bcrypt per CPU second x cores" "/s" 1 bound
                    num "ratio_to_bound" "logins / (bcrypt per CPU second x cores)" "" 2 (loginsPerSecond / bound)
                    |> higher
                    num "login_p50_ms" "LOGIN -> OK LOGIN p50" "ms" 1 (quantile samples 0.5)
                    |> lower
                    num "login_p99_ms" "LOGIN -> OK LOGIN p99" "ms" 1 (quantile samples 0.99)
                    |> lower
                    num "register_per_s" "REGISTER / s (bcrypt hash)" "/s" 1 (float clients / regTime)
                    |> higher
                    count "failures" "failed login cycles" "" (int64 failures.Value) |> lower
                    num
                        "logins_per_server_cpu_s"
                        "logins per server-side CPU second"
                        ""
                        2
                        (float window.Deliveries / cpuUse.ServerSideSeconds)
                    |> higher
                    num "baseline_per_cpu_s" "bcrypt verifications per CPU second" "" 2 bcrypt.PerCpuSecond
                    num
                        "cpu_ratio"
                        "logins / bcrypt, per CPU second"
                        ""
                        2
                        (float window.Deliveries / cpuUse.ServerSideSeconds / bcrypt.PerCpuSecond)
                    |> higher
                    yield! cpuUse.Metrics
                ]
                Notes = [
                    $"logins completed in a {s.LoginDuration.TotalSeconds:N0} s window after {s.LoginWarmup.TotalSeconds:N0} s of unmeasured logins (the servers start cold), with the clients logging in throughout"
                    $"bcrypt cost {cost} here (the server's default is 12); the other scenarios run their servers at cost {loadBcryptCost}"
                    "baseline: BCrypt.Net-Next Verify on one thread per core, measured before the servers start; its rate per CPU second times the cores is what bcrypt does here with the cores to itself"
                    if firstFailure.Value <> "" then
                        $"first failure: {firstFailure.Value}"
                ]
                Violations = 0L
                Error = None
            }
        })
