/// The server instances the benchmark runs (started through Chat.Testing's harness, as the tests
/// start theirs), and what /proc says about them and about the machine.
module Chat.Bench.Processes

open System
open System.IO
open System.Net
open System.Runtime.InteropServices
open System.Threading.Tasks
open Chat.Testing

/// Something did not start; the message says what and why.
exception StartFailed of string

module private Native =
    [<DllImport("libc")>]
    extern int64 sysconf(int name)

let private scClockTicks = 2

/// /proc/<pid>: CPU time, resident memory, threads.
module Proc =
    let private ticksPerSecond =
        lazy
            (let t = Native.sysconf scClockTicks
             if t > 0L then float t else 100.0)

    /// User + system CPU seconds so far; 0 once the process is gone.
    let cpuSeconds (pid: int) : float =
        try
            let stat = File.ReadAllText $"/proc/{pid}/stat"
            // The command name may hold spaces; fields are counted after its closing parenthesis.
            let fields = stat.Substring(stat.LastIndexOf ')' + 2).Split ' '
            float (int64 fields[11] + int64 fields[12]) / ticksPerSecond.Value
        with
        | :? IOException
        | :? UnauthorizedAccessException -> 0.0

    /// CPU seconds all processes of the machine have spent busy so far (from /proc/stat).
    let machineBusySeconds () : float =
        let fields =
            (File.ReadLines "/proc/stat" |> Seq.head).Split(' ', StringSplitOptions.RemoveEmptyEntries)
        // cpu user nice system idle iowait irq softirq steal ...
        let busy = [ 1; 2; 3; 6; 7; 8 ] |> List.sumBy (fun i -> int64 fields[i])
        float busy / ticksPerSecond.Value

    let private status (pid: int) (key: string) : int64 =
        try
            File.ReadLines $"/proc/{pid}/status"
            |> Seq.tryFind (fun l -> l.StartsWith(key + ":"))
            |> Option.map (fun l -> l.Substring(key.Length + 1).Trim().Split(' ').[0] |> int64)
            |> Option.defaultValue 0L
        with
        | :? IOException
        | :? UnauthorizedAccessException -> 0L

    let rssKiB pid = status pid "VmRSS"
    let threads pid = status pid "Threads"

    /// The soft and hard limits on open files of a process.
    let openFiles (pid: int) : int64 * int64 =
        let line =
            File.ReadLines $"/proc/{pid}/limits"
            |> Seq.find (fun l -> l.StartsWith "Max open files")

        let words =
            line.Substring("Max open files".Length).Split(' ', StringSplitOptions.RemoveEmptyEntries)

        let parse (s: string) =
            if s = "unlimited" then Int64.MaxValue else int64 s

        parse words[0], parse words[1]

/// Kills every process the benchmark started and that still runs (a second Ctrl-C, an exit by any path).
let killAll () = ChildProcess.KillAll()

/// A redis-server of the benchmark's own (free loopback port, nothing on disk); StartFailed when it
/// does not answer.
let startRedis () : RedisServer =
    try
        new RedisServer(extraArgs = [ "--loglevel"; "warning" ])
    with e ->
        raise (StartFailed $"redis-server did not start: {e.Message}")

/// One server instance, listening.
type Server = {
    Id: string
    Process: ServerProcess
    /// The port its `/metrics` is served on, when asked for.
    MetricsPort: int option
} with

    member s.Endpoint = s.Process.Endpoint
    member s.Pid = s.Process.Pid

type ServerOptions = {
    Dll: string
    CertDir: string
    Redis: string option
    BcryptCost: int
    SendQueue: int option
    /// Serve `/metrics` on a free loopback port of each instance's own (`--metrics`).
    Metrics: bool
}

/// SIGTERM to every instance at once, SIGKILL to those still running 15 s later.
let stopServers (servers: Server list) =
    servers
    |> List.map (fun s ->
        Task.Run(fun () ->
            s.Process.Child.StopWithin(TimeSpan.FromSeconds 15.0)
            (s.Process :> IDisposable).Dispose()))
    |> Array.ofList
    |> Task.WaitAll

/// Starts `count` instances `<prefix>1..<prefix><count>` sharing one certificate directory, each
/// with its open-files limit raised to the hard one and no limit that would skew the figures;
/// waits for each to log `listening on <address>:<port>`. StartFailed when one does not.
let startServers (options: ServerOptions) (prefix: string) (count: int) : Server list =
    let flags = [
        "--bcrypt-cost"
        string options.BcryptCost
        "--msg-rate"
        "0"
        "--login-failures"
        "0"
        "--max-conns-per-address"
        "0"
        match options.Redis with
        | Some r -> yield! [ "--redis"; r ]
        | None -> ()
        match options.SendQueue with
        | Some n -> yield! [ "--send-queue"; string n ]
        | None -> ()
    ]

    let metricsPorts =
        Array.init count (fun _ -> if options.Metrics then Some(Ports.free ()) else None)

    let own (i: int) = [
        match metricsPorts[i - 1] with
        | Some port -> yield! [ "--metrics"; $"127.0.0.1:{port}" ]
        | None -> ()
    ]

    let started =
        try
            ServerProcess.StartCluster(
                count,
                flags,
                idPrefix = prefix,
                certDir = options.CertDir,
                dll = options.Dll,
                // Variables, not flags: a build from before a limit existed ignores its variable.
                env = [ "CHAT_MAX_CONNS", "0" ],
                raiseOpenFilesLimit = true,
                perInstance = own
            )
        with e ->
            raise (StartFailed $"a {prefix} server instance did not start: {e.GetBaseException().Message}")

    started
    |> List.mapi (fun i p -> {
        Id = $"{prefix}{i + 1}"
        Process = p
        MetricsPort = metricsPorts[i]
    })
