namespace Chat.Server.Tests

open System
open System.Collections.Generic
open System.Diagnostics
open System.IO
open System.Reflection
open System.Runtime.InteropServices
open System.Text.RegularExpressions
open System.Threading

module private Native =
    [<DllImport("libc", SetLastError = true)>]
    extern int kill(int pid, int signal)

    let SIGINT = 2
    let SIGKILL = 9
    let SIGTERM = 15

/// How a server process ended, for the tests that expect it to stop on its own (bad flags).
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
    member _.Closed = lock gate (fun () -> openStreams = 0)

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

/// One chat server, started as its own process (`dotnet Chat.Server.dll`), on a free loopback
/// port with a fresh certificate directory unless one is given (instances of one cluster share
/// theirs). Dispose kills it if it still runs.
type ServerProcess private (proc: Process, certDir: string, ownsCertDir: bool, log: OutputLog, args: string list) =
    static let listening = Regex(@"listening on (\S+):(\d+)", RegexOptions.Compiled)

    static let serverDll =
        lazy
            (let beside = Path.Combine(AppContext.BaseDirectory, "Chat.Server.dll")

             if File.Exists beside then
                 beside
             else
                 // Not copied beside the tests: the server's own output for the same configuration.
                 let configuration =
                     match typeof<OutputLog>.Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>() with
                     | null -> "Debug"
                     | a -> a.Configuration

                 let rec up (dir: DirectoryInfo) =
                     if isNull dir then
                         failwith
                             $"Chat.Server.dll is neither in {AppContext.BaseDirectory} nor under src/Chat.Server/bin/{configuration}"
                     else
                         let candidate =
                             Path.Combine(
                                 dir.FullName,
                                 "src",
                                 "Chat.Server",
                                 "bin",
                                 configuration,
                                 "net10.0",
                                 "Chat.Server.dll"
                             )

                         if File.Exists candidate then candidate else up dir.Parent

                 up (DirectoryInfo AppContext.BaseDirectory))

    static let dotnetHost =
        lazy
            (match Environment.GetEnvironmentVariable "DOTNET_HOST_PATH" with
             | null
             | "" ->
                 match Environment.ProcessPath with
                 | p when not (isNull p) && Path.GetFileNameWithoutExtension p = "dotnet" -> p
                 | _ -> "dotnet"
             | p when File.Exists p -> p
             | _ -> "dotnet")

    let mutable port = 0

    /// Starts the process without waiting for it to listen.
    static member private Launch
        (flags: string list, env: (string * string) list, certDir: string option)
        : ServerProcess =
        let dir, owns =
            match certDir with
            | Some d -> d, false
            | None -> Path.Combine(Path.GetTempPath(), "chat-e2e-" + Guid.NewGuid().ToString "N"), true

        let args =
            [
                "--port"
                "0"
                "--bind"
                "127.0.0.1"
                "--bcrypt-cost"
                "4"
                "--cert-dir"
                dir
            ]
            @ flags

        let psi = ProcessStartInfo(dotnetHost.Value)
        psi.ArgumentList.Add serverDll.Value

        for a in args do
            psi.ArgumentList.Add a

        psi.UseShellExecute <- false
        psi.RedirectStandardOutput <- true
        psi.RedirectStandardError <- true
        psi.RedirectStandardInput <- true
        // Only what the test asks for: no CHAT_* leaking in from the environment of the test run.
        for key in List.ofSeq psi.Environment.Keys do
            if key.StartsWith("CHAT_", StringComparison.Ordinal) then
                psi.Environment.Remove key |> ignore

        for k, v in env do
            psi.Environment[k] <- v

        let log = OutputLog()
        let proc = new Process(StartInfo = psi)
        proc.OutputDataReceived.Add(fun e -> log.Add(false, e.Data))
        proc.ErrorDataReceived.Add(fun e -> log.Add(true, e.Data))

        if not (proc.Start()) then
            failwith "could not start the server process"

        proc.BeginOutputReadLine()
        proc.BeginErrorReadLine()
        new ServerProcess(proc, dir, owns, log, args)

    /// Starts a server and waits (up to `timeout`, default 30 s) for its `listening on` line.
    /// Always on 127.0.0.1, port 0, bcrypt cost 4; `flags` come after and win.
    static member Start(?flags: string list, ?env: (string * string) list, ?certDir: string, ?timeout: TimeSpan) =
        let server = ServerProcess.Launch(defaultArg flags [], defaultArg env [], certDir)
        let deadline = DateTime.UtcNow + defaultArg timeout (TimeSpan.FromSeconds 30.0)

        let found =
            server.Log.WaitFor(
                List.tryPick (fun line ->
                    let m = listening.Match line
                    if m.Success then Some(int m.Groups[2].Value) else None),
                deadline
            )

        match found with
        | Some p ->
            server.SetPort p
            server
        | None ->
            let text = server.OutputText()
            let args = String.concat " " server.Args
            (server :> IDisposable).Dispose()
            failwith $"the server did not log 'listening on' in time (args: {args})\n{text}"

    /// Starts `count` instances of one cluster: one certificate directory (so one certificate to
    /// pin), `--server-id <idPrefix><i>` each, and the same `flags` (such as `--redis 127.0.0.1:<port>`).
    /// The first generates the certificate; dispose them all (the first removes the directory).
    static member StartCluster(count: int, flags: string list, ?idPrefix: string, ?env: (string * string) list) =
        let prefix = defaultArg idPrefix "node"
        let id i = [ "--server-id"; prefix + string i ]
        let env = defaultArg env []
        let started = List<ServerProcess>()

        try
            started.Add(ServerProcess.Start(id 1 @ flags, env))

            for i in 2..count do
                started.Add(ServerProcess.Start(id i @ flags, env, started[0].CertDir))

            List.ofSeq started
        with _ ->
            for s in Seq.rev started do
                (s :> IDisposable).Dispose()

            reraise ()

    /// Runs a server that is expected to stop by itself (a bad flag, a bad certificate), and
    /// returns its exit code and output; fails if it is still running after `timeout`.
    static member Run(flags: string list, ?env: (string * string) list, ?timeout: TimeSpan) : ExitResult =
        use server = ServerProcess.Launch(flags, defaultArg env [], None)

        match server.WaitForExit(defaultArg timeout (TimeSpan.FromSeconds 30.0)) with
        | Some code -> {
            Code = code
            StdOut = server.StdOut
            StdErr = server.StdErr
          }
        | None -> failwith $"the server was expected to exit but still runs\n{server.OutputText()}"

    member private _.Log: OutputLog = log
    member private _.SetPort p = port <- p

    /// The arguments it was started with (after the DLL).
    member _.Args: string list = args
    /// The TLS port it listens on.
    member _.Port = port
    member _.Pid = proc.Id
    member _.CertDir = certDir
    /// The certificate it generated (or loaded) in its certificate directory, to pin.
    member _.CertFile = Path.Combine(certDir, "server.crt")
    member _.StdOut = log.StdOut
    member _.StdErr = log.StdErr
    /// Both streams, each line marked `[out]` or `[err]`, in arrival order.
    member _.Output = log.All

    /// The last lines of output, for failure messages.
    member _.OutputText(?last: int) =
        let lines = log.All
        let n = defaultArg last 200

        let shown =
            if lines.Length > n then
                List.skip (lines.Length - n) lines
            else
                lines

        String.Join("\n", shown)

    member _.HasExited = proc.HasExited

    member private _.Signal(signal: int) =
        if not proc.HasExited then
            if Native.kill (proc.Id, signal) <> 0 && not proc.HasExited then
                failwith $"kill({proc.Id}, {signal}) failed: errno {Marshal.GetLastWin32Error()}"

    /// SIGTERM: the server should tell its clients and exit 0.
    member this.Stop() = this.Signal Native.SIGTERM
    /// SIGINT, as Ctrl-C.
    member this.Interrupt() = this.Signal Native.SIGINT
    /// SIGKILL: a crash, no goodbyes.
    member this.Kill() = this.Signal Native.SIGKILL

    /// The exit code once the process has ended (and its output is all read), None on timeout.
    member _.WaitForExit(timeout: TimeSpan) : int option =
        if proc.WaitForExit(int timeout.TotalMilliseconds) then
            proc.WaitForExit() // drains the redirected streams
            Some proc.ExitCode
        else
            None

    interface IDisposable with
        member this.Dispose() =
            try
                if not proc.HasExited then
                    this.Kill()
                    proc.WaitForExit 10_000 |> ignore
            with _ ->
                ()

            proc.Dispose()

            if ownsCertDir then
                try
                    Directory.Delete(certDir, true)
                with _ ->
                    ()
