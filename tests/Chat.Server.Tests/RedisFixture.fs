namespace Chat.Server.Tests

open System
open System.Diagnostics
open System.IO
open System.Net
open System.Net.Sockets
open System.Text
open System.Threading
open System.Threading.Tasks

/// Waiting on a condition with a deadline: tests never sleep a fixed time to pass.
module Poll =
    /// Checks `condition` until it holds, backing off from 5 ms to 200 ms; TimeoutException after `timeout`.
    let until (timeout: TimeSpan) (what: string) (condition: unit -> bool) =
        let clock = Stopwatch.StartNew()

        let rec go (delay: int) =
            if not (condition ()) then
                if clock.Elapsed > timeout then
                    raise (TimeoutException(sprintf "still waiting after %.1f s for %s" timeout.TotalSeconds what))

                Thread.Sleep delay
                go (min (delay * 2) 200)

        go 5

/// Just enough RESP to drive a redis-server without a client library (one connection per command).
module internal Resp =
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

/// A real redis-server on a free 127.0.0.1 port, for as long as the fixture lives. Without
/// `aofDir` it keeps nothing on disk (`--save "" --appendonly no`), so a restart starts empty;
/// with it, it logs every write to an append-only file there, which a restart reads back.
type RedisFixture(?aofDir: string) =
    let workDir = Directory.CreateTempSubdirectory("chat-redis-").FullName
    let logFile = Path.Combine(workDir, "redis.log")
    let mutable proc: Process = null

    let freePort () =
        let l = new TcpListener(IPAddress.Loopback, 0)
        l.Start()
        let port = (l.LocalEndpoint :?> IPEndPoint).Port
        l.Stop()
        port

    let port = freePort ()

    let logTail () =
        if File.Exists logFile then
            File.ReadAllLines logFile
            |> Array.rev
            |> Array.truncate 10
            |> Array.rev
            |> String.concat "\n"
        else
            ""

    let waitForExit () =
        if not (isNull proc) then
            if not (proc.WaitForExit 10_000) then
                proc.Kill()
                proc.WaitForExit()

            proc.Dispose()
            proc <- null

    let start () =
        let info = ProcessStartInfo("redis-server", UseShellExecute = false)

        let persistence =
            match aofDir with
            | Some dir -> [ "--appendonly"; "yes"; "--appendfsync"; "always"; "--dir"; dir ]
            | None -> [ "--appendonly"; "no"; "--dir"; workDir ]

        for a in [ "--port"; string port; "--bind"; "127.0.0.1"; "--save"; "" ] @ persistence do
            info.ArgumentList.Add a

        // DEBUG from loopback only, for the tests that stall Redis (`DEBUG SLEEP`).
        for a in [ "--logfile"; logFile; "--daemonize"; "no"; "--enable-debug-command"; "local" ] do
            info.ArgumentList.Add a

        proc <- Process.Start info

        Poll.until (TimeSpan.FromSeconds 15.0) (sprintf "redis-server on port %d to answer PING" port) (fun () ->
            if proc.HasExited then
                failwithf "redis-server exited with %d:\n%s" proc.ExitCode (logTail ())

            try
                Resp.command port [ "PING" ] = "PONG"
            with _ ->
                false)

    do start ()

    member _.Port = port
    /// For StackExchange.Redis and for the server's `--redis`.
    member _.Configuration = sprintf "127.0.0.1:%d" port
    member _.IsRunning = not (isNull proc) && not proc.HasExited

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
            proc.Kill()

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
