namespace Chat.Testing

open System
open System.IO
open System.Net
open System.Net.Sockets
open System.Text
open System.Threading.Tasks

/// Just enough RESP to drive a redis-server without a client library (one connection per command).
module Resp =
    let private readLine (s: Stream) =
        let buffer = ResizeArray<byte>()

        let rec go () =
            match s.ReadByte() with
            | -1 -> raise (EndOfStreamException "redis closed the connection")
            | 13 -> s.ReadByte() |> ignore
            | b ->
                buffer.Add(byte b)
                go ()

        go ()
        Encoding.UTF8.GetString(buffer.ToArray())

    /// Scalars as text, nil as null, arrays as their elements joined by '\n'.
    let rec private read (s: Stream) : string =
        let line = readLine s

        match line[0], line.Substring 1 with
        | '+', rest
        | ':', rest -> rest
        | '-', rest -> failwithf "redis error: %s" rest
        | '$', "-1"
        | '*', "-1" -> null
        | '$', n ->
            let data = Array.zeroCreate<byte>(int n + 2)
            let mutable got = 0

            while got < data.Length do
                let k = s.Read(data, got, data.Length - got)

                if k = 0 then
                    raise (EndOfStreamException "redis closed the connection")

                got <- got + k

            Encoding.UTF8.GetString(data, 0, int n)
        | '*', n -> List.init (int n) (fun _ -> read s) |> String.concat "\n"
        | _ -> failwithf "unexpected RESP line %s" line

    /// Runs one command on 127.0.0.1:`port`: scalars as text, nil as null, arrays as their
    /// elements joined by '\n'; a Redis error raises.
    let command (port: int) (args: string list) =
        use client = new TcpClient()
        client.Connect(IPAddress.Loopback, port)
        client.ReceiveTimeout <- 5000
        use stream = client.GetStream()
        let request = StringBuilder().Append('*').Append(args.Length).Append("\r\n")

        for a in args do
            request.Append('$').Append(Encoding.UTF8.GetByteCount a).Append("\r\n").Append(a).Append("\r\n")
            |> ignore

        let bytes = Encoding.UTF8.GetBytes(request.ToString())
        stream.Write(bytes, 0, bytes.Length)
        read stream

/// Free TCP ports on loopback.
module Ports =
    /// A port nothing listens on right now (the OS's pick for port 0).
    let free () =
        let l = new TcpListener(IPAddress.Loopback, 0)
        l.Start()
        let port = (l.LocalEndpoint :?> IPEndPoint).Port
        l.Stop()
        port

/// A real redis-server on a free 127.0.0.1 port, for as long as the object lives. Without
/// `aofDir` it keeps nothing on disk (`--save "" --appendonly no`), so a restart starts empty;
/// with it, it logs every write to an append-only file there, which a restart reads back.
/// DEBUG is allowed from loopback (for `DebugSleep`). `extraArgs` come last (e.g.
/// `--loglevel warning`). Its log is its stdout, kept in memory.
type RedisServer(?aofDir: string, ?extraArgs: string list) =
    let workDir = Directory.CreateTempSubdirectory("chat-redis-").FullName
    let port = Ports.free ()
    let mutable child: ChildProcess option = None

    let args () = [
        "--port"
        string port
        "--bind"
        "127.0.0.1"
        "--save"
        ""
        match aofDir with
        | Some dir -> yield! [ "--appendonly"; "yes"; "--appendfsync"; "always"; "--dir"; dir ]
        | None -> yield! [ "--appendonly"; "no"; "--dir"; workDir ]
        // DEBUG from loopback only, for the tests that stall Redis (`DEBUG SLEEP`).
        "--daemonize"
        "no"
        "--enable-debug-command"
        "local"
        yield! defaultArg extraArgs []
    ]

    let waitForExit () =
        match child with
        | Some c ->
            if (c.WaitForExit(TimeSpan.FromSeconds 10.0)).IsNone then
                c.Kill()

            (c :> IDisposable).Dispose()
            child <- None
        | None -> ()

    let start () =
        let c = ChildProcess.Start("redis-server", args (), name = $"redis-server:{port}")
        child <- Some c

        try
            Poll.until (TimeSpan.FromSeconds 15.0) (sprintf "redis-server on port %d to answer PING" port) (fun () ->
                if c.HasExited then
                    c.WaitForExit(TimeSpan.FromSeconds 5.0) |> ignore
                    failwithf "redis-server exited:\n%s" (c.OutputText 10)

                try
                    Resp.command port [ "PING" ] = "PONG"
                with _ ->
                    false)
        with _ ->
            (c :> IDisposable).Dispose()
            child <- None
            reraise ()

    do start ()

    member _.Port = port
    /// `127.0.0.1:<port>`: for StackExchange.Redis and for the server's `--redis`.
    member _.Configuration = sprintf "127.0.0.1:%d" port
    member _.Endpoint = IPEndPoint(IPAddress.Loopback, port)
    member _.IsRunning = child |> Option.exists (fun c -> not c.HasExited)
    /// The pid of the running redis-server (0 when stopped).
    member _.Pid = child |> Option.map _.Pid |> Option.defaultValue 0

    /// The last lines of its log.
    member _.LogTail(?last: int) =
        child
        |> Option.map (fun c -> c.OutputText(defaultArg last 10))
        |> Option.defaultValue ""

    /// Runs one command: scalars as text, nil as null, arrays as their elements joined by '\n'.
    member _.Command(args: string list) = Resp.command port args

    member this.FlushAll() = this.Command [ "FLUSHALL" ] |> ignore

    /// Sends `DEBUG SLEEP <seconds>` and returns once it is written; the task ends with Redis' reply.
    member _.DebugSleep(seconds: int) : Task =
        let tcp = new TcpClient()
        tcp.Connect(IPAddress.Loopback, port)
        let stream = tcp.GetStream()
        let s = string seconds

        let bytes =
            Encoding.ASCII.GetBytes $"*3\r\n$5\r\nDEBUG\r\n$5\r\nSLEEP\r\n${s.Length}\r\n{s}\r\n"

        stream.Write(bytes, 0, bytes.Length)

        task {
            use _ = tcp
            let buffer = Array.zeroCreate<byte> 64
            let! _ = stream.ReadAsync(buffer, 0, buffer.Length)
            ()
        }

    /// A clean shutdown (the append-only file, if any, is complete).
    member this.Stop() =
        if this.IsRunning then
            try
                this.Command [ "SHUTDOWN" ] |> ignore
            with _ ->
                () // the reply to SHUTDOWN is the connection closing

        waitForExit ()

    /// A crash: SIGKILL, nothing flushed.
    member this.Kill() =
        if this.IsRunning then
            child |> Option.iter _.Kill()

        waitForExit ()

    /// Stops it if it runs, then starts it again on the same port.
    member this.Restart() =
        this.Stop()
        start ()

    interface IDisposable with
        member this.Dispose() =
            this.Kill()

            try
                Directory.Delete(workDir, true)
            with _ ->
                ()

/// What the servers under test use as Redis (their `--redis`). One redis-server today; the Redis
/// Cluster and Sentinel fixtures of later issues become further cases here.
[<RequireQualifiedAccess>]
type RedisTopology =
    /// One redis-server.
    | Single of RedisServer

    /// The value of the servers' `--redis`.
    member this.Configuration =
        match this with
        | Single r -> r.Configuration

    /// Every redis-server process of the topology.
    member this.Servers =
        match this with
        | Single r -> [ r ]

    interface IDisposable with
        member this.Dispose() =
            for r in this.Servers do
                (r :> IDisposable).Dispose()

module RedisTopology =
    /// One fresh redis-server, nothing on disk.
    let single () = RedisTopology.Single(new RedisServer())
