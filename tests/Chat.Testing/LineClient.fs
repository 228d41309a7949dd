namespace Chat.Testing

open System
open System.Collections.Generic
open System.IO
open System.Net.Security
open System.Net.Sockets
open System.Security.Authentication
open System.Security.Cryptography.X509Certificates
open System.Text
open System.Threading

[<AutoOpen>]
module private Failing =
    let fail (message: string) : 'a =
        raise (ExpectationFailedException message)

/// A chat/1 client over a real TLS socket, trusting exactly the server's certificate file
/// (pinned: the DER bytes must match). A background thread reads lines into a queue; `Expect`
/// takes the first queued line that matches, waiting up to a timeout (default 10 s). A line that
/// does not come raises ExpectationFailedException with every line received.
type LineClient private (tcp: TcpClient, ssl: SslStream, name: string) =
    static let defaultTimeout = TimeSpan.FromSeconds 10.0
    let gate = obj ()
    let received = List<string>()
    let pending = List<string>()
    let mutable closed = false
    let mutable closeReason = ""
    let mutable hello = ""
    let reading = new ManualResetEventSlim(true)
    let sendGate = obj ()
    let mutable pings = 0

    let describe () =
        lock gate (fun () ->
            let shown (xs: List<string>) =
                let n = min xs.Count 60

                xs.GetRange(xs.Count - n, n)
                |> Seq.map (fun l -> "    " + l)
                |> String.concat "\n"

            let state = if closed then $"closed ({closeReason})" else "open"
            $"[{name}] connection {state}\n  unclaimed lines ({pending.Count}):\n{shown pending}\n  all lines received ({received.Count}, last 60):\n{shown received}")

    let readLoop () =
        let buffer = Array.zeroCreate<byte> 16384
        let line = new MemoryStream()
        let mutable go = true

        while go do
            reading.Wait()

            let n =
                try
                    ssl.Read(buffer, 0, buffer.Length)
                with e ->
                    lock gate (fun () -> closeReason <- e.GetType().Name + ": " + e.Message)
                    0

            if n = 0 then
                go <- false

                lock gate (fun () ->
                    if closeReason = "" then
                        closeReason <- "end of stream"

                    closed <- true
                    Monitor.PulseAll gate)
            else
                let lines = List<string>()

                for i in 0 .. n - 1 do
                    if buffer[i] = 10uy then
                        lines.Add(Encoding.UTF8.GetString(line.GetBuffer(), 0, int line.Length))
                        line.SetLength 0L
                    else
                        line.WriteByte buffer[i]

                if lines.Count > 0 then
                    lock gate (fun () ->
                        received.AddRange lines
                        pending.AddRange lines
                        Monitor.PulseAll gate)

    /// Waits under the lock until `pick` finds something, or fails with what was received.
    let waitFor (what: string) (timeout: TimeSpan) (pick: unit -> 'a option) : 'a =
        let deadline = DateTime.UtcNow + timeout

        let result =
            lock gate (fun () ->
                let mutable r = pick ()

                while r.IsNone && not closed && DateTime.UtcNow < deadline do
                    Monitor.Wait(gate, max TimeSpan.Zero (deadline - DateTime.UtcNow)) |> ignore
                    r <- pick ()

                r)

        match result with
        | Some r -> r
        | None ->
            let why =
                if lock gate (fun () -> closed) then
                    "the connection closed"
                else
                    $"{timeout.TotalSeconds} s passed"

            fail $"expected {what}, but {why}.\n{describe ()}"

    let take (pred: string -> bool) () =
        match Seq.tryFindIndex pred pending with
        | Some i ->
            let l = pending[i]
            pending.RemoveAt i
            Some l
        | None -> None

    /// Connects and completes the TLS handshake, pinning `certFile`, then waits for `HELLO`.
    static member Connect
        (
            port: int,
            certFile: string,
            ?name: string,
            ?protocols: SslProtocols,
            ?targetHost: string,
            ?receiveBuffer: int,
            ?host: string
        ) : LineClient =
        let pinned = X509Certificate2.CreateFromPem(File.ReadAllText certFile).RawData
        let tcp = new TcpClient()
        receiveBuffer |> Option.iter (fun n -> tcp.ReceiveBufferSize <- n)
        tcp.NoDelay <- true
        tcp.Connect(defaultArg host "127.0.0.1", port)

        let validate =
            RemoteCertificateValidationCallback(fun _ cert _ _ -> not (isNull cert) && cert.GetRawCertData() = pinned)

        let ssl = new SslStream(tcp.GetStream(), false, validate)

        let options =
            SslClientAuthenticationOptions(
                TargetHost = defaultArg targetHost "localhost",
                EnabledSslProtocols = defaultArg protocols (SslProtocols.Tls12 ||| SslProtocols.Tls13)
            )

        try
            use cts = new CancellationTokenSource(defaultTimeout)
            ssl.AuthenticateAsClientAsync(options, cts.Token).Wait()
        with _ ->
            ssl.Dispose()
            tcp.Dispose()
            reraise ()

        let client = new LineClient(tcp, ssl, defaultArg name "client")
        client.StartReading()
        client.ReceiveHello()
        client

    /// Connects to `server` (its port and certificate), as `Connect` does.
    static member To(server: ServerProcess, ?name: string) =
        LineClient.Connect(server.Port, server.CertFile, ?name = name)

    member private _.StartReading() =
        let thread = Thread(readLoop)
        thread.IsBackground <- true
        thread.Name <- "line-client " + name
        thread.Start()

    member private this.ReceiveHello() =
        hello <- this.ExpectMatch((fun _ -> true), "a first line")

        if not (hello.StartsWith "HELLO chat/1 ") then
            fail ($"the first line is not HELLO chat/1: {hello}")

    member _.Name = name
    /// The `HELLO` line the server sent first.
    member _.Hello = hello
    member _.Ssl = ssl
    member _.NegotiatedProtocol = ssl.SslProtocol
    /// Every line received so far, in order.
    member _.Received = lock gate (fun () -> List.ofSeq received)
    /// Lines received and not yet taken by an `Expect`.
    member _.Pending = lock gate (fun () -> List.ofSeq pending)
    member _.IsClosed = lock gate (fun () -> closed)
    member _.Describe() = describe ()

    member _.SendBytes(bytes: byte array) =
        lock sendGate (fun () ->
            ssl.Write bytes
            ssl.Flush())

    /// Sends one line with `\n`.
    member this.Send(line: string) =
        this.SendBytes(Encoding.UTF8.GetBytes(line + "\n"))

    /// Sends several lines in one write.
    member this.SendAll(lines: string seq) =
        this.SendBytes(Encoding.UTF8.GetBytes(lines |> Seq.map (fun l -> l + "\n") |> String.concat ""))

    /// Takes the first queued line that satisfies `pred`, waiting for it; fails with every line
    /// seen otherwise.
    member _.ExpectMatch(pred: string -> bool, what: string, ?timeout: TimeSpan) : string =
        waitFor what (defaultArg timeout defaultTimeout) (fun () -> take pred ())

    /// Takes the first queued line, whatever it is, waiting for one.
    member this.Next(?timeout: TimeSpan) : string =
        this.ExpectMatch((fun _ -> true), "a line", defaultArg timeout defaultTimeout)

    member this.Expect(line: string, ?timeout: TimeSpan) : string =
        this.ExpectMatch((fun l -> l = line), $"the line '{line}'", defaultArg timeout defaultTimeout)

    member this.ExpectPrefix(prefix: string, ?timeout: TimeSpan) : string =
        this.ExpectMatch(
            (fun l -> l.StartsWith(prefix, StringComparison.Ordinal)),
            $"a line starting '{prefix}'",
            defaultArg timeout defaultTimeout
        )

    /// The next reply to a command of this client: the first queued `OK` or `ERR` line.
    member this.NextReply(?timeout: TimeSpan) : string =
        this.ExpectMatch(
            (fun l -> l.StartsWith "OK " || l.StartsWith "ERR "),
            "a reply (OK or ERR)",
            defaultArg timeout defaultTimeout
        )

    /// Sends a line and returns its reply.
    member this.Command(line: string, ?timeout: TimeSpan) : string =
        this.Send line
        this.NextReply(defaultArg timeout defaultTimeout)

    /// Takes every queued line that satisfies `pred`, in order, without waiting.
    member _.TakeAll(pred: string -> bool) : string list =
        lock gate (fun () ->
            let taken = pending |> Seq.filter pred |> List.ofSeq
            pending.RemoveAll(fun l -> pred l) |> ignore
            taken)

    /// Forgets the queued lines.
    member _.Clear() = lock gate (fun () -> pending.Clear())

    /// A barrier: `/ping <token>` and its `OK PONG <token>`. Whatever the server queued for this
    /// client before it handled the ping has arrived once this returns.
    member this.Sync(?timeout: TimeSpan) =
        let token = $"sync-{Interlocked.Increment &pings}-{Guid.NewGuid():N}"
        this.Send $"/ping {token}"
        this.Expect($"OK PONG {token}", defaultArg timeout defaultTimeout) |> ignore

    /// After a `Sync`, asserts that no line ever received satisfies `pred`.
    member this.AssertNotReceived(pred: string -> bool, what: string) =
        this.Sync()

        match this.Received |> List.tryFind pred with
        | Some l -> fail ($"[{name}] should not have received {what}, but got: {l}\n{describe ()}")
        | None -> ()

    /// Waits the whole of `duration` and fails if a matching line arrives meanwhile. For the few
    /// checks that have no barrier to wait on.
    member _.ExpectNothing(pred: string -> bool, duration: TimeSpan, what: string) =
        let deadline = DateTime.UtcNow + duration

        let seen =
            lock gate (fun () ->
                let mutable s = pending |> Seq.tryFind pred

                while s.IsNone && DateTime.UtcNow < deadline do
                    Monitor.Wait(gate, max TimeSpan.Zero (deadline - DateTime.UtcNow)) |> ignore
                    s <- pending |> Seq.tryFind pred

                s)

        match seen with
        | Some l -> fail ($"[{name}] expected no {what} for {duration.TotalSeconds} s, but got: {l}\n{describe ()}")
        | None -> ()

    /// Waits until the server has closed the connection.
    member _.WaitClosed(?timeout: TimeSpan) =
        let t = defaultArg timeout defaultTimeout
        let deadline = DateTime.UtcNow + t

        let isClosed =
            lock gate (fun () ->
                while not closed && DateTime.UtcNow < deadline do
                    Monitor.Wait(gate, max TimeSpan.Zero (deadline - DateTime.UtcNow)) |> ignore

                closed)

        if not isClosed then
            fail ($"expected the server to close the connection within {t.TotalSeconds} s\n{describe ()}")

    /// Stops reading the socket (after the read in progress), as a stuck client would.
    member _.PauseReading() = reading.Reset()
    member _.ResumeReading() = reading.Set()

    /// `LOGIN`, expecting `OK LOGIN <user in lower case> lobby`.
    member this.Login(user: string, password: string) =
        let reply = this.Command $"LOGIN {user} {password}"
        let expected = $"OK LOGIN {user.ToLowerInvariant()} lobby"

        if reply <> expected then
            fail ($"[{name}] LOGIN {user}: expected '{expected}', got '{reply}'\n{describe ()}")

    /// `REGISTER`, expecting `OK REGISTER <user in lower case> lobby`.
    member this.Register(user: string, password: string) =
        let reply = this.Command $"REGISTER {user} {password}"
        let expected = $"OK REGISTER {user.ToLowerInvariant()} lobby"

        if reply <> expected then
            fail ($"[{name}] REGISTER {user}: expected '{expected}', got '{reply}'\n{describe ()}")

    /// Drops the connection without `/quit` (and without TLS close_notify), as a crashed client.
    member _.Disconnect() =
        reading.Set()

        try
            tcp.Client.Close()
        with _ ->
            ()

    interface IDisposable with
        member _.Dispose() =
            reading.Set()

            try
                ssl.Dispose()
            with _ ->
                ()

            tcp.Dispose()
