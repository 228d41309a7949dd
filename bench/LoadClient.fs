namespace Chat.Bench

open System
open System.IO
open System.Net
open System.Net.Security
open System.Net.Sockets
open System.Security.Authentication
open System.Security.Cryptography
open System.Security.Cryptography.X509Certificates
open System.Text
open System.Threading
open System.Threading.Tasks

/// Called for each received line (no terminator), on the client's read loop; must not block.
type LineHandler = delegate of ReadOnlySpan<byte> -> unit

/// The server answered something the benchmark did not expect.
exception UnexpectedReply of string

/// The server's certificate, pinned by its SHA-256: the one in the servers' --cert-dir.
type Pin = {
    Sha256: byte array
} with

    static member OfPemFile(path: string) =
        use cert = X509Certificate2.CreateFromPem(File.ReadAllText path)

        {
            Sha256 = SHA256.HashData(cert.RawData)
        }

/// One chat/1 connection for load generation: asynchronous TLS, lines in and out through its own buffer.
type LoadClient private (tcp: TcpClient, ssl: SslStream, bufferSize: int) =
    static let utf8 = UTF8Encoding(false)
    let mutable buffer = Array.zeroCreate<byte> bufferSize
    let mutable start = 0
    let mutable stop = 0

    /// Moves what is left to the front, grows the buffer when it is full; returns the free part.
    member private _.Room() : Memory<byte> =
        if start > 0 then
            Buffer.BlockCopy(buffer, start, buffer, 0, stop - start)
            stop <- stop - start
            start <- 0

        if stop = buffer.Length then
            let bigger = Array.zeroCreate<byte>(buffer.Length * 2)
            Buffer.BlockCopy(buffer, 0, bigger, 0, stop)
            buffer <- bigger

        buffer.AsMemory(stop, buffer.Length - stop)

    /// Reads more bytes; false at the end of the stream.
    member private this.Fill(ct: CancellationToken) : Task<bool> =
        task {
            let! n = ssl.ReadAsync(this.Room(), ct)
            stop <- stop + n
            return n > 0
        }

    /// Hands every complete line in the buffer to `handler`.
    member private _.Drain(handler: LineHandler) =
        let mutable go = true

        while go do
            let pending = ReadOnlySpan(buffer, start, stop - start)
            let newline = pending.IndexOf 10uy

            if newline < 0 then
                go <- false
            else
                let line = pending.Slice(0, newline)

                let line =
                    if line.Length > 0 && line[line.Length - 1] = 13uy then
                        line.Slice(0, line.Length - 1)
                    else
                        line

                start <- start + newline + 1
                handler.Invoke line

    member private _.TakeLine() : string =
        let pending = ReadOnlySpan(buffer, start, stop - start)

        match pending.IndexOf 10uy with
        | -1 -> null
        | newline ->
            start <- start + newline + 1
            utf8.GetString(pending.Slice(0, newline)).TrimEnd '\r'

    /// The next line; null at the end of the stream.
    member this.ReadLineAsync(ct: CancellationToken) : Task<string> =
        task {
            let mutable line = this.TakeLine()
            let mutable eof = false

            while isNull line && not eof do
                let! more = this.Fill ct
                if more then line <- this.TakeLine() else eof <- true

            return line
        }

    /// Reads lines until one starts with `prefix` and returns it; other lines (presence events,
    /// messages) are skipped. An `ERR` line or the end of the stream fails.
    member this.ExpectAsync(prefix: string, ct: CancellationToken) : Task<string> =
        task {
            let mutable found = null

            while isNull found do
                let! line = this.ReadLineAsync ct

                if isNull line then
                    raise (UnexpectedReply $"connection closed while waiting for '{prefix}'")
                elif line.StartsWith prefix then
                    found <- line
                elif line.StartsWith "ERR " then
                    raise (UnexpectedReply $"'{line}' while waiting for '{prefix}'")

            return found
        }

    /// Reads until the end of the stream (or a read error), passing every line to `handler`.
    member this.PumpAsync(handler: LineHandler) : Task = this.PumpAsync(handler, TimeSpan.Zero)

    /// The same, pausing `between` reads: what arrives meanwhile is read and decrypted in one go,
    /// which costs the load generator far less than a wake-up per line.
    member this.PumpAsync(handler: LineHandler, between: TimeSpan) : Task =
        task {
            try
                this.Drain handler
                let mutable go = true

                while go do
                    if between > TimeSpan.Zero then
                        do! Task.Delay between

                    // Not through Fill: one task for the whole pump, no allocation per read.
                    let! n = ssl.ReadAsync(this.Room())
                    stop <- stop + n
                    if n > 0 then this.Drain handler else go <- false
            with
            | :? IOException
            | :? ObjectDisposedException
            | :? OperationCanceledException -> ()
        }

    member _.SendBytesAsync(bytes: ReadOnlyMemory<byte>, ct: CancellationToken) : Task =
        ssl.WriteAsync(bytes, ct).AsTask()

    member this.SendAsync(line: string, ct: CancellationToken) : Task =
        this.SendBytesAsync(ReadOnlyMemory(utf8.GetBytes(line + "\n")), ct)

    /// Connects, completes the TLS handshake against the pinned certificate, and reads `HELLO`.
    static member ConnectAsync
        (endpoint: IPEndPoint, pin: Pin, bufferSize: int, ct: CancellationToken)
        : Task<LoadClient> =
        task {
            let tcp = new TcpClient(NoDelay = true)

            try
                do! tcp.ConnectAsync(endpoint, ct)
                let ssl = new SslStream(tcp.GetStream(), false)

                let options =
                    SslClientAuthenticationOptions(
                        TargetHost = "localhost",
                        EnabledSslProtocols = (SslProtocols.Tls12 ||| SslProtocols.Tls13),
                        RemoteCertificateValidationCallback =
                            RemoteCertificateValidationCallback(fun _ cert _ _ ->
                                not (isNull cert)
                                && CryptographicOperations.FixedTimeEquals(
                                    ReadOnlySpan(SHA256.HashData(cert.GetRawCertData())),
                                    ReadOnlySpan pin.Sha256
                                ))
                    )

                do! ssl.AuthenticateAsClientAsync(options, ct)
                let client = new LoadClient(tcp, ssl, bufferSize)
                let! _ = client.ExpectAsync("HELLO ", ct)
                return client
            with e ->
                tcp.Dispose()
                return raise e
        }

    interface IDisposable with
        member _.Dispose() =
            ssl.Dispose()
            tcp.Dispose()

/// The fields of a benchmark room message, `MSG <room> <id> <from> <sender> <seq> [<ticks>]`.
[<Struct>]
type BenchMsg = {
    Sender: int
    Seq: int64
    Ticks: int64
}

module BenchMsg =
    let private msg = "MSG "B

    /// Index just past the `n`-th space from `from`, or -1.
    let private skipWords (line: ReadOnlySpan<byte>) (from: int) (n: int) =
        let mutable at = from
        let mutable left = n

        while left > 0 && at >= 0 do
            match line.Slice(at).IndexOf 32uy with
            | -1 -> at <- -1
            | i ->
                at <- at + i + 1
                left <- left - 1

        at

    /// A decimal number starting at `at`, and the index after it (-1 when there is none).
    let private number (line: ReadOnlySpan<byte>) (at: int) : struct (int64 * int) =
        let mutable i = at
        let mutable n = 0L

        while i < line.Length && line[i] >= 48uy && line[i] <= 57uy do
            n <- n * 10L + int64 (line[i] - 48uy)
            i <- i + 1

        if i = at then struct (0L, -1) else struct (n, i)

    /// The benchmark fields of a `MSG` line; ValueNone for any other line.
    let tryParse (line: ReadOnlySpan<byte>) : BenchMsg voption =
        if not (line.StartsWith(ReadOnlySpan msg)) then
            ValueNone
        else
            let text = skipWords line msg.Length 3

            if text < 0 then
                ValueNone
            else
                let struct (sender, a) = number line text

                if a < 0 || a >= line.Length || line[a] <> 32uy then
                    ValueNone
                else
                    let struct (seq, b) = number line (a + 1)

                    if b < 0 then
                        ValueNone
                    elif b < line.Length && line[b] = 32uy then
                        let struct (ticks, c) = number line (b + 1)

                        ValueSome {
                            Sender = int sender
                            Seq = seq
                            Ticks = (if c < 0 then 0L else ticks)
                        }
                    else
                        ValueSome {
                            Sender = int sender
                            Seq = seq
                            Ticks = 0L
                        }

    /// `<sender> <seq> [<ticks>]`, the text the senders send.
    let text (sender: int) (seq: int64) (ticks: int64) =
        if ticks = 0L then
            $"{sender} {seq}"
        else
            $"{sender} {seq} {ticks}"
