/// A measured window inside a longer run of traffic: CPU and deliveries from its start to its end
/// only, so that warm-up and drain stay out of the per-delivery figures.
module Chat.Bench.Scenarios.Window

open System
open System.Diagnostics
open System.Runtime
open System.Threading
open System.Threading.Tasks
open Chat.Bench.Report
open Chat.Bench.Scenarios.Common

/// What the measured send window saw: the CPU meter's figures, deliveries, its length and the
/// benchmark's own collections meanwhile (they would show up as latency).
type Window = {
    Cpu: CpuUse
    Deliveries: int64
    Seconds: float
    BenchGcs: int
}

let private noGcBytes = 240L * 1024L * 1024L

/// Starts a region without collections in the benchmark while its allocations fit (they would
/// pause its readers and show up as latency); false when the runtime refuses one that large.
let startNoGc () =
    try
        GC.TryStartNoGCRegion(noGcBytes)
    with :? ArgumentOutOfRangeException ->
        false // more than this runtime allows: measured with collections, as reported

/// Ends the region `startNoGc` started, if it still holds.
let endNoGc (started: bool) =
    if started && GCSettings.LatencyMode = GCLatencyMode.NoGCRegion then
        GC.EndNoGCRegion()

let private delayUntil (at: int64) (ct: CancellationToken) =
    Task.Delay(TimeSpan.FromSeconds(max 0.0 (seconds (at - Stopwatch.GetTimestamp()))), ct)

/// The phase a run is in, for its progress line: `warm-up` until `warm`, then `measured`.
let phase (warm: int64) =
    if Stopwatch.GetTimestamp() < warm then
        "warm-up"
    else
        "measured"

/// Waits for `start`, then measures until `stop`: CPU (/proc/<pid>/stat through the meter) and the
/// deliveries counted, as they stand at each end; no collections in the benchmark meanwhile while
/// its allocations fit the region.
let measureWindow (meter: unit -> CpuMeter) (delivered: unit -> int64) (start: int64) (stop: int64) ct =
    task {
        do! delayUntil start ct
        let cpu = meter ()
        let d0, t0 = delivered (), Stopwatch.GetTimestamp()

        let noGc = startNoGc ()

        let gcs0 = GC.CollectionCount 0
        do! delayUntil stop ct
        let d1, t1 = delivered (), Stopwatch.GetTimestamp()
        let cpuUse = cpu.Stop()
        let gcs = GC.CollectionCount 0 - gcs0

        endNoGc noGc

        return {
            Cpu = cpuUse
            Deliveries = d1 - d0
            Seconds = seconds (t1 - t0)
            BenchGcs = gcs
        }
    }

/// The window's CPU per delivery (the instances' alone, Redis') and the benchmark's collections in it.
let cpuPerDelivery (w: Window) = [
    num
        "server_cpu_us_per_delivery"
        "server CPU per delivery (instances alone, window)"
        "µs"
        2
        (w.Cpu.InstanceSeconds * 1e6 / float w.Deliveries)
    |> lower
    num
        "redis_cpu_us_per_delivery"
        "Redis CPU per delivery (window)"
        "µs"
        2
        (w.Cpu.RedisSeconds * 1e6 / float w.Deliveries)
    |> lower
    count "bench_gcs" "collections in the benchmark (window)" "" (int64 w.BenchGcs)
]
