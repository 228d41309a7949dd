/// The processes the benchmark runs (redis-server, server instances), and what /proc says about them.
module Chat.Bench.Processes

open System
open System.Collections.Concurrent
open System.Collections.Generic
open System.Diagnostics
open System.IO
open System.Net
open System.Net.Sockets
open System.Runtime.InteropServices
open System.Text
open System.Threading
open System.Threading.Tasks

/// Something did not start; the message says what and why.
exception StartFailed of string

module private Native =
    [<DllImport("libc", SetLastError = true)>]
    extern int kill(int pid, int signal)

    [<DllImport("libc")>]
    extern int64 sysconf(int name)

let private sigterm = 15
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

/// Every child still running, so that an exit by any path (Ctrl-C, crash) takes them along.
let private live = ConcurrentDictionary<int, Process>()

let killAll () =
    for KeyValue(_, p) in live do
        try
            if not p.HasExited then
                p.Kill true
        with _ ->
            ()

/// One child process: its output is drained (a full pipe would stall it) and the last lines kept.
type Child(name: string, file: string, args: string list) =
    let info =
        ProcessStartInfo(
            "bash",
            // Raise the soft open-files limit to the hard one for the child, then become it (same pid).
            [
                "-c"
                "ulimit -n $(ulimit -Hn) 2>/dev/null; exec \"$@\""
                "bash"
                file
                yield! args
            ],
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false
        )

    let tail = Queue<string>()
    // Lines other than INFO ones (warnings, errors, stack traces): what explains a failure.
    let problems = Queue<string>()
    let waiters = List<(string -> bool) * TaskCompletionSource<string>>()
    let gate = obj ()

    let onLine (line: string) =
        if not (isNull line) then
            lock gate (fun () ->
                tail.Enqueue line

                if tail.Count > 30 then
                    tail.Dequeue() |> ignore

                for i in waiters.Count - 1 .. -1 .. 0 do
                    let test, tcs = waiters[i]

                    if test line then
                        tcs.TrySetResult line |> ignore
                        waiters.RemoveAt i)

    let proc = new Process(StartInfo = info, EnableRaisingEvents = true)

    do
        proc.OutputDataReceived.Add(fun e -> onLine e.Data)
        proc.ErrorDataReceived.Add(fun e -> onLine e.Data)
        proc.Start() |> ignore
        live[proc.Id] <- proc
        proc.BeginOutputReadLine()
        proc.BeginErrorReadLine()

    member _.Name = name
    member _.Pid = proc.Id
    member _.HasExited = proc.HasExited
    member _.Tail = lock gate (fun () -> String.Join("\n", tail))
    member _.Problems = lock gate (fun () -> String.Join("\n", problems))

    /// The first output line that passes `test`; fails when the process exits or time runs out.
    member this.WaitForLine(test: string -> bool, timeout: TimeSpan) : Task<string> =
        task {
            let tcs =
                TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously)

            lock gate (fun () ->
                match tail |> Seq.tryFind test with
                | Some line -> tcs.TrySetResult line |> ignore
                | None -> waiters.Add((test, tcs)))

            let exited = proc.WaitForExitAsync()
            let! first = Task.WhenAny(tcs.Task :> Task, exited, Task.Delay timeout)

            if first = (tcs.Task :> Task) then
                return tcs.Task.Result
            else
                Thread.Sleep 200 // let the last output lines arrive

                let why =
                    if proc.HasExited then
                        $"exited with code {proc.ExitCode}"
                    else
                        "did not get ready in time"

                return raise (StartFailed $"{name} {why}; its last output:\n{this.Tail}")
        }

    /// SIGTERM, then SIGKILL after `grace`.
    member _.Stop(grace: TimeSpan) =
        try
            if not proc.HasExited then
                Native.kill (proc.Id, sigterm) |> ignore

                if not (proc.WaitForExit grace) then
                    proc.Kill true

            proc.WaitForExit()
        with _ ->
            ()

        live.TryRemove proc.Id |> ignore

    interface IDisposable with
        member this.Dispose() =
            this.Stop(TimeSpan.FromSeconds 15.0)
            proc.Dispose()

let freePort () =
    let l = new TcpListener(IPAddress.Loopback, 0)
    l.Start()
    let port = (l.LocalEndpoint :?> IPEndPoint).Port
    l.Stop()
    port

/// One inline Redis command and its first reply line.
let redisCommand (port: int) (command: string) : string =
    use tcp = new TcpClient()
    tcp.Connect(IPAddress.Loopback, port)
    use stream = tcp.GetStream()
    let bytes = Encoding.ASCII.GetBytes(command + "\r\n")
    stream.Write(bytes, 0, bytes.Length)
    use reader = new StreamReader(stream, Encoding.ASCII)
    reader.ReadLine()

/// A redis-server of our own on a free loopback port, without persistence.
type Redis(port: int, child: Child) =
    member _.Port = port
    member _.Child = child
    member _.Endpoint = $"127.0.0.1:{port}"

    member _.Flush() = redisCommand port "FLUSHALL" |> ignore

    static member Start() : Redis =
        let port = freePort ()

        let child =
            new Child(
                "redis-server",
                "redis-server",
                [
                    "--port"
                    string port
                    "--bind"
                    "127.0.0.1"
                    "--save"
                    ""
                    "--appendonly"
                    "no"
                    "--loglevel"
                    "warning"
                ]
            )

        let deadline = DateTime.UtcNow.AddSeconds 10.0

        let rec ready () =
            let pong =
                try
                    redisCommand port "PING" = "+PONG"
                with :? SocketException ->
                    false

            if pong then
                ()
            elif child.HasExited || DateTime.UtcNow > deadline then
                raise (StartFailed $"redis-server did not start on port {port}:\n{child.Tail}")
            else
                Thread.Sleep 50
                ready ()

        ready ()
        new Redis(port, child)

    interface IDisposable with
        member _.Dispose() = (child :> IDisposable).Dispose()

/// One server instance, listening.
type Server = {
    Id: string
    Child: Child
    Endpoint: IPEndPoint
}

type ServerOptions = {
    Dll: string
    CertDir: string
    Redis: string option
    BcryptCost: int
    SendQueue: int option
}

let stopServers (servers: Server list) =
    servers
    |> List.map (fun s -> Task.Run(fun () -> (s.Child :> IDisposable).Dispose()))
    |> Array.ofList
    |> Task.WaitAll

/// Starts `count` instances at once and waits for each to log `listening on <address>:<port>`.
let startServers (options: ServerOptions) (prefix: string) (count: int) : Task<Server list> =
    task {
        let start i =
            task {
                let id = $"{prefix}{i}"

                let args = [
                    "--bind"
                    "127.0.0.1"
                    "--port"
                    "0"
                    "--server-id"
                    id
                    "--cert-dir"
                    options.CertDir
                    "--bcrypt-cost"
                    string options.BcryptCost
                    "--msg-rate"
                    "0"
                    "--login-failures"
                    "0"
                    "--max-conns-per-address"
                    "0"
                    "--max-conns"
                    "0"
                    "--register-rate"
                    "0"
                    match options.Redis with
                    | Some r -> yield! [ "--redis"; r ]
                    | None -> ()
                    match options.SendQueue with
                    | Some n -> yield! [ "--send-queue"; string n ]
                    | None -> ()
                ]

                let child = new Child(id, "dotnet", options.Dll :: args)

                try
                    let! line =
                        child.WaitForLine((fun l -> l.Contains "listening on "), TimeSpan.FromSeconds 40.0)

                    let at =
                        line.Substring(line.IndexOf "listening on " + "listening on ".Length).Split(' ').[0]

                    let port = at.Substring(at.LastIndexOf ':' + 1) |> int

                    return
                        Ok {
                            Id = id
                            Child = child
                            Endpoint = IPEndPoint(IPAddress.Loopback, port)
                        }
                with e ->
                    (child :> IDisposable).Dispose()
                    return Error e
            }

        let! started = [ 1..count ] |> List.map start |> Task.WhenAll

        let servers =
            started
            |> Seq.choose (function
                | Ok s -> Some s
                | Error _ -> None)
            |> List.ofSeq

        match
            started
            |> Seq.tryPick (function
                | Error e -> Some e
                | Ok _ -> None)
        with
        | Some e ->
            stopServers servers
            return raise e
        | None -> return servers
    }
