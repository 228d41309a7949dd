namespace Chat.Testing

open System
open System.Collections.Concurrent
open System.Collections.Generic
open System.Diagnostics
open System.Runtime.InteropServices
open System.Threading

module private Native =
    [<DllImport("libc", SetLastError = true)>]
    extern int kill(int pid, int signal)

/// The POSIX signals the harness sends.
type Signal =
    | SIGINT = 2
    | SIGKILL = 9
    | SIGTERM = 15
    /// Linux numbering: the harness runs on Linux.
    | SIGCONT = 18
    | SIGSTOP = 19

/// How a process that was expected to stop by itself ended.
type ExitResult = {
    Code: int
    StdOut: string list
    StdErr: string list
}

/// Lines a child process writes, kept for assertions and failure messages.
type private OutputLog() =
    let gate = obj ()
    let all = List<string>()
    let out = List<string>()
    let err = List<string>()
    let mutable openStreams = 2

    member _.Add(isErr: bool, line: string) =
        lock gate (fun () ->
            if isNull line then
                openStreams <- openStreams - 1
            else
                all.Add((if isErr then "[err] " else "[out] ") + line)
                (if isErr then err else out).Add line

            Monitor.PulseAll gate)

    member _.StdOut = lock gate (fun () -> List.ofSeq out)
    member _.StdErr = lock gate (fun () -> List.ofSeq err)
    member _.All = lock gate (fun () -> List.ofSeq all)

    /// Waits until `found` picks something out of stdout, stdout ends, or the deadline passes.
    member _.WaitFor(found: string list -> 'a option, deadline: DateTime) : 'a option =
        lock gate (fun () ->
            let mutable result = found (List.ofSeq out)

            while result.IsNone && openStreams > 0 && DateTime.UtcNow < deadline do
                let left = deadline - DateTime.UtcNow

                if left > TimeSpan.Zero then
                    Monitor.Wait(gate, left) |> ignore

                result <- found (List.ofSeq out)

            result)

/// One child process with both output streams read into a log (a full pipe would stall it).
/// Every child still running when this process exits is killed then (ProcessExit), so that a
/// filtered test run or a failed script leaves nothing behind; Dispose kills it at once.
type ChildProcess private (proc: Process, name: string, log: OutputLog, args: string list) =
    static let live = ConcurrentDictionary<int, Process>()

    static do
        AppDomain.CurrentDomain.ProcessExit.Add(fun _ ->
            for KeyValue(_, p) in live do
                try
                    if not p.HasExited then
                        p.Kill true
                with _ ->
                    ())

    /// Starts `file` with `args`. `env` is added to this process's environment, from which every
    /// variable whose name starts with one of `scrubPrefixes` is removed first (CHAT_ for servers:
    /// only what the caller asks for). `raiseOpenFilesLimit` runs it through bash with the soft
    /// open-files limit raised to the hard one (same pid: bash execs it).
    static member Start
        (
            file: string,
            args: string list,
            ?name: string,
            ?env: (string * string) list,
            ?scrubPrefixes: string list,
            ?workingDirectory: string,
            ?raiseOpenFilesLimit: bool
        ) : ChildProcess =
        // A test run started as a background job (`&` in a script) has SIGINT ignored, and every
        // child would inherit that, so a test's SIGINT would never reach a server: `env` sets it
        // back to the default before it execs the program (same pid).
        let prefix =
            if IO.File.Exists "/usr/bin/env" then
                [ "/usr/bin/env"; "--default-signal=INT" ]
            else
                []

        let command =
            if defaultArg raiseOpenFilesLimit false then
                prefix
                @ [
                    "bash"
                    "-c"
                    "ulimit -n $(ulimit -Hn) 2>/dev/null; exec \"$@\""
                    "bash"
                    file
                ]
            else
                prefix @ [ file ]

        let psi = ProcessStartInfo(List.head command)

        for a in List.tail command @ args do
            psi.ArgumentList.Add a

        psi.UseShellExecute <- false
        psi.RedirectStandardOutput <- true
        psi.RedirectStandardError <- true
        psi.RedirectStandardInput <- true
        workingDirectory |> Option.iter (fun d -> psi.WorkingDirectory <- d)

        for prefix in defaultArg scrubPrefixes [] do
            for key in List.ofSeq psi.Environment.Keys do
                if key.StartsWith(prefix, StringComparison.Ordinal) then
                    psi.Environment.Remove key |> ignore

        for k, v in defaultArg env [] do
            psi.Environment[k] <- v

        let log = OutputLog()
        let proc = new Process(StartInfo = psi)
        proc.OutputDataReceived.Add(fun e -> log.Add(false, e.Data))
        proc.ErrorDataReceived.Add(fun e -> log.Add(true, e.Data))

        if not (proc.Start()) then
            failwith $"could not start {file}"

        live[proc.Id] <- proc
        proc.BeginOutputReadLine()
        proc.BeginErrorReadLine()
        new ChildProcess(proc, defaultArg name (IO.Path.GetFileName file), log, args)

    /// Kills every child still running (for a Ctrl-C handler; ProcessExit does it anyway).
    static member KillAll() =
        for KeyValue(_, p) in live do
            try
                if not p.HasExited then
                    p.Kill true
            with _ ->
                ()

    member _.Name = name
    /// The arguments it was started with.
    member _.Args: string list = args
    member _.Pid = proc.Id
    member _.HasExited = proc.HasExited
    member _.StdOut = log.StdOut
    member _.StdErr = log.StdErr
    /// Both streams, each line marked `[out]` or `[err]`, in arrival order.
    member _.Output = log.All

    /// The last `last` lines of output (default 200), for failure messages.
    member _.OutputText(?last: int) =
        let lines = log.All
        let n = defaultArg last 200

        let shown =
            if lines.Length > n then
                List.skip (lines.Length - n) lines
            else
                lines

        String.Join("\n", shown)

    /// Waits up to `timeout` until `pick` finds something in the stdout lines so far; None when
    /// stdout ended (the process exited) or time ran out.
    member _.WaitForStdOut(pick: string list -> 'a option, timeout: TimeSpan) : 'a option =
        log.WaitFor(pick, DateTime.UtcNow + timeout)

    /// Writes `line` to its stdin (piped), flushed: for a program that reads commands as it runs.
    member _.WriteLine(line: string) =
        proc.StandardInput.WriteLine line
        proc.StandardInput.Flush()

    /// Closes its stdin: end of input.
    member _.CloseInput() = proc.StandardInput.Close()

    /// Sends `signal`; fails when kill(2) fails and the process still runs.
    member _.Signal(signal: Signal) =
        if not proc.HasExited then
            if Native.kill (proc.Id, int signal) <> 0 && not proc.HasExited then
                failwith $"kill({proc.Id}, {signal}) failed: errno {Marshal.GetLastWin32Error()}"

    /// SIGTERM.
    member this.Stop() = this.Signal Signal.SIGTERM
    /// SIGINT, as Ctrl-C.
    member this.Interrupt() = this.Signal Signal.SIGINT
    /// SIGKILL: a crash.
    member this.Kill() = this.Signal Signal.SIGKILL
    /// SIGSTOP: frozen, its sockets open, reading nothing.
    member this.Freeze() = this.Signal Signal.SIGSTOP
    /// SIGCONT after `Freeze`.
    member this.Thaw() = this.Signal Signal.SIGCONT

    /// The exit code once the process has ended (and its output is all read), None on timeout.
    member _.WaitForExit(timeout: TimeSpan) : int option =
        if proc.WaitForExit(int timeout.TotalMilliseconds) then
            proc.WaitForExit() // drains the redirected streams
            live.TryRemove proc.Id |> ignore
            Some proc.ExitCode
        else
            None

    /// SIGTERM, then SIGKILL when it still runs after `grace`; waits for the end.
    member this.StopWithin(grace: TimeSpan) =
        this.Stop()

        if (this.WaitForExit grace).IsNone then
            this.Kill()
            this.WaitForExit(TimeSpan.FromSeconds 10.0) |> ignore

    /// Kills it if it still runs (SIGKILL) and waits up to 10 s for it to end.
    interface IDisposable with
        member this.Dispose() =
            try
                if not proc.HasExited then
                    this.Kill()

                this.WaitForExit(TimeSpan.FromSeconds 10.0) |> ignore
            with _ ->
                ()

            live.TryRemove proc.Id |> ignore
            proc.Dispose()
