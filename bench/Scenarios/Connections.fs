/// Logged-in idle TLS connections on one instance, ramped up to a target: what each one costs the
/// server in memory and threads.
module Chat.Bench.Scenarios.Connections

open System
open System.Diagnostics
open System.Threading
open System.Threading.Tasks
open Chat.Bench
open Chat.Bench.Processes
open Chat.Bench.Report
open Chat.Bench.Scenarios.Common

let private mib (kib: int64) = float kib / 1024.0

/// Connections made and closed before measuring, so that the code they run is already compiled.
let private warmUp (server: Server) pin ct =
    task {
        for i in 1..20 do
            use! c = joinAs server.Endpoint pin 4096 $"warm{i}" (Some $"warm{i}") ct
            do! c.SendAsync("/quit", ct)
            let! _ = c.ExpectAsync("OK QUIT", ct)
            ()

        do! Task.Delay(1000, ct)
    }

let run (ctx: Context) : Task<ScenarioResult> =
    let s = ctx.Settings
    let target = s.Connections

    withServers ctx "conn" 1 loadBcryptCost None (fun servers pin ->
        task {
            let server = servers.Head
            let pid = server.Pid
            let clients: LoadClient array = Array.zeroCreate target
            let made = ref 0
            let linesSeen = ref 0L

            let countLines =
                LineHandler(fun _ -> Interlocked.Increment &linesSeen.contents |> ignore)

            let pumps = Collections.Concurrent.ConcurrentBag<Task>()
            let benchSoft, _ = Proc.openFiles Environment.ProcessId
            let serverSoft, _ = Proc.openFiles pid
            use progress = new Progress(tagged ctx "conns")

            try
                progress.Phase("warm-up", fun () -> "")
                do! warmUp server pin ctx.Cancel
                let rssBefore, threadsBefore = Proc.rssKiB pid, Proc.threads pid
                let benchBefore = Proc.rssKiB Environment.ProcessId

                let rampStart = Stopwatch.GetTimestamp()

                let rate () =
                    float made.Value / seconds (Stopwatch.GetTimestamp() - rampStart)

                progress.Phase(
                    "ramp",
                    fun () ->
                        $"connections {made.Value}/{target} ({rate ():N0}/s), server RSS {mib (Proc.rssKiB pid):N0} MiB, threads {Proc.threads pid}"
                )

                let cpu = CpuMeter.For(ctx, servers)

                let join i ct =
                    task {
                        let room = if s.ConnLobby then None else Some $"c{i}"
                        let! c = joinAs server.Endpoint pin 2048 $"conn{i}" room ct
                        pumps.Add(c.PumpAsync countLines)
                        return c
                    }

                do! connectMany clients s.ConnConcurrency made join ctx.Cancel
                let rampTime = seconds (Stopwatch.GetTimestamp() - rampStart)
                let cpuUse = cpu.Stop()

                progress.Phase(
                    "settle",
                    fun () -> $"server RSS {mib (Proc.rssKiB pid):N0} MiB, threads {Proc.threads pid}"
                )

                do! Task.Delay(3000, ctx.Cancel)
                let rssAfter, threadsAfter = Proc.rssKiB pid, Proc.threads pid
                let benchAfter = Proc.rssKiB Environment.ProcessId
                let dropped = pumps |> Seq.filter _.IsCompleted |> Seq.length
                let perConn (a: int64) (b: int64) = float (b - a) / float target

                return {
                    Name = "connections"
                    Metrics = [
                        count "target" "connections (logged in, idle)" "" (int64 target)
                        str "placement" "placement" (if s.ConnLobby then "all in lobby" else "one room each")
                        num "ramp_seconds" "ramp time" "s" 1 rampTime
                        num "setup_per_s" "connect+TLS+REGISTER / s" "conn/s" 0 (float target / rampTime)
                        |> higher
                        num "rss_before_mib" "server RSS before" "MiB" 1 (mib rssBefore)
                        num "rss_after_mib" "server RSS after" "MiB" 1 (mib rssAfter) |> lower
                        num "rss_per_conn_kib" "server RSS per connection" "KiB" 1 (perConn rssBefore rssAfter)
                        |> lower
                        count "threads_before" "server threads before" "" threadsBefore
                        count "threads_after" "server threads after" "" threadsAfter |> lower
                        num
                            "threads_per_conn"
                            "server threads per connection"
                            ""
                            2
                            (perConn threadsBefore threadsAfter)
                        |> lower
                        num
                            "bench_rss_per_conn_kib"
                            "bench RSS per connection"
                            "KiB"
                            1
                            (perConn benchBefore benchAfter)
                        count "lines_received" "lines received while idle" "" (Interlocked.Read &linesSeen.contents)
                        count "dropped_connections" "connections dropped" "" (int64 dropped) |> lower
                        count "server_nofile" "server open-files limit" "" serverSoft
                        num
                            "server_cpu_ms_per_conn"
                            "server-side CPU per connection set-up"
                            "ms"
                            2
                            (cpuUse.ServerSideSeconds * 1000.0 / float target)
                        |> lower
                        yield! cpuUse.Metrics
                    ]
                    Notes = [
                        "RSS and threads from /proc/<pid>/status, 'before' after 20 warm-up connections, 'after' 3 s after the ramp"
                        $"CPU figures cover the ramp (TLS handshakes and REGISTER at bcrypt cost {loadBcryptCost})"
                        if benchSoft < int64 target + 100L then
                            $"the benchmark's open-files limit is {benchSoft}: raise it (ulimit -n) for {target} connections"
                    ]
                    Violations = 0L
                    Error = None
                }
            finally
                disposeAll clients
        })
