namespace Chat.Testing

open System
open System.IO
open System.Net
open System.Text.RegularExpressions
open System.Threading.Tasks

/// One chat server, started as its own process (`dotnet Chat.Server.dll`), on a free loopback
/// port with a fresh certificate directory unless one is given (instances of one cluster share
/// theirs). Dispose kills it if it still runs, and removes the certificate directory it made.
type ServerProcess private (child: ChildProcess, certDir: string, ownsCertDir: bool) =
    static let listening = Regex(@"listening on (\S+):(\d+)", RegexOptions.Compiled)
    let mutable endpoint = IPEndPoint(IPAddress.Loopback, 0)

    /// Starts the process without waiting for it to listen. Always `--port 0 --bind 127.0.0.1
    /// --bcrypt-cost 4 --cert-dir <dir>`, then `flags` (which win). No CHAT_* variable but
    /// `CHAT_REGISTER_RATE=0` (every test registers from 127.0.0.1; a variable, not a flag, so
    /// builds from before that flag start too) and `env`'s, which win.
    static member Launch
        (
            flags: string list,
            ?env: (string * string) list,
            ?certDir: string,
            ?dll: string,
            ?name: string,
            ?raiseOpenFilesLimit: bool
        ) : ServerProcess =
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

        let dll = defaultArg dll Paths.serverDll.Value

        let child =
            ChildProcess.Start(
                Paths.dotnetHost.Value,
                dll :: args,
                name = defaultArg name "server",
                env = ("CHAT_REGISTER_RATE", "0") :: defaultArg env [],
                scrubPrefixes = [ "CHAT_" ],
                raiseOpenFilesLimit = defaultArg raiseOpenFilesLimit false
            )

        new ServerProcess(child, dir, owns)

    /// Starts a server (see `Launch`) and waits up to `timeout` (default 30 s) for its
    /// `listening on <address>:<port>` line; fails with its output when none comes.
    static member Start
        (
            ?flags: string list,
            ?env: (string * string) list,
            ?certDir: string,
            ?timeout: TimeSpan,
            ?dll: string,
            ?name: string,
            ?raiseOpenFilesLimit: bool
        ) : ServerProcess =
        let server =
            ServerProcess.Launch(
                defaultArg flags [],
                ?env = env,
                ?certDir = certDir,
                ?dll = dll,
                ?name = name,
                ?raiseOpenFilesLimit = raiseOpenFilesLimit
            )

        let found =
            server.Child.WaitForStdOut(
                List.tryPick (fun line ->
                    let m = listening.Match line

                    if m.Success then
                        Some(IPAddress.Parse m.Groups[1].Value, int m.Groups[2].Value)
                    else
                        None),
                defaultArg timeout (TimeSpan.FromSeconds 30.0)
            )

        match found with
        | Some(address, port) ->
            server.SetEndpoint(IPEndPoint(address, port))
            server
        | None ->
            let text = server.OutputText()
            let args = String.concat " " server.Args
            (server :> IDisposable).Dispose()
            failwith $"the server did not log 'listening on' in time (args: {args})\n{text}"

    /// Starts `count` instances of one cluster: one certificate directory (so one certificate to
    /// pin), `--server-id <idPrefix><i>` each (i from 1, prefix `node` by default), and the same
    /// `flags` (such as `--redis 127.0.0.1:<port>`). The first starts alone and generates the
    /// certificate, the others then start together. `perInstance i` adds flags of instance i's
    /// own (such as its own `--metrics` port). On a failure the started ones are disposed;
    /// otherwise dispose them all (the first removes the directory).
    static member StartCluster
        (
            count: int,
            flags: string list,
            ?idPrefix: string,
            ?env: (string * string) list,
            ?certDir: string,
            ?dll: string,
            ?raiseOpenFilesLimit: bool,
            ?perInstance: int -> string list
        ) : ServerProcess list =
        let prefix = defaultArg idPrefix "node"
        let own = defaultArg perInstance (fun _ -> [])

        let start i (dir: string option) =
            ServerProcess.Start(
                [ "--server-id"; prefix + string i ] @ flags @ own i,
                ?env = env,
                ?certDir = dir,
                ?dll = dll,
                name = prefix + string i,
                ?raiseOpenFilesLimit = raiseOpenFilesLimit
            )

        let first = start 1 certDir

        let others =
            [ 2..count ]
            |> List.map (fun i -> Task.Run(fun () -> start i (Some first.CertDir)))

        try
            Task.WaitAll(others |> Seq.cast<Task> |> Array.ofSeq)
            first :: (others |> List.map _.Result)
        with _ ->
            for t in others do
                if t.Status = TaskStatus.RanToCompletion then
                    (t.Result :> IDisposable).Dispose()

            (first :> IDisposable).Dispose()

            match others |> List.tryPick (fun t -> Option.ofObj t.Exception) with
            | Some e -> raise e.InnerExceptions[0]
            | None -> reraise ()

    /// Runs a server that is expected to stop by itself (a bad flag, a bad certificate), and
    /// returns its exit code and output; fails if it is still running after `timeout` (default 30 s).
    static member Run(flags: string list, ?env: (string * string) list, ?timeout: TimeSpan) : ExitResult =
        use server = ServerProcess.Launch(flags, ?env = env)

        match server.WaitForExit(defaultArg timeout (TimeSpan.FromSeconds 30.0)) with
        | Some code -> {
            Code = code
            StdOut = server.StdOut
            StdErr = server.StdErr
          }
        | None -> failwith $"the server was expected to exit but still runs\n{server.OutputText()}"

    member private _.SetEndpoint e = endpoint <- e

    /// The process, its output and signals.
    member _.Child: ChildProcess = child
    /// The arguments it was started with (after the DLL).
    member _.Args: string list = List.tail child.Args
    /// The TLS port it listens on.
    member _.Port = endpoint.Port
    /// The address and port of its `listening on` line.
    member _.Endpoint = endpoint
    member _.Pid = child.Pid
    member _.CertDir = certDir
    /// The certificate it generated (or loaded) in its certificate directory, to pin.
    member _.CertFile = Path.Combine(certDir, "server.crt")
    member _.StdOut = child.StdOut
    member _.StdErr = child.StdErr
    /// Both streams, each line marked `[out]` or `[err]`, in arrival order.
    member _.Output = child.Output
    /// The last `last` lines of output (default 200), for failure messages.
    member _.OutputText(?last: int) = child.OutputText(defaultArg last 200)
    member _.HasExited = child.HasExited

    /// SIGTERM: the server should tell its clients and exit 0.
    member _.Stop() = child.Stop()
    /// SIGINT, as Ctrl-C.
    member _.Interrupt() = child.Interrupt()
    /// SIGKILL: a crash, no goodbyes.
    member _.Kill() = child.Kill()

    /// The exit code once the process has ended (and its output is all read), None on timeout.
    member _.WaitForExit(timeout: TimeSpan) : int option = child.WaitForExit timeout

    interface IDisposable with
        member _.Dispose() =
            (child :> IDisposable).Dispose()

            if ownsCertDir then
                try
                    Directory.Delete(certDir, true)
                with _ ->
                    ()
