namespace Chat.Server

open System
open System.Buffers
open System.IO
open System.Threading
open Chat.Domain

type ReadResult =
    | Line of Result<string, Framing.FrameError>
    | EndOfStream

/// Splits a blocking stream into lines of at most `maxLine` bytes (terminator excluded). A longer
/// line is reported once, as soon as it is too long, and skipped up to its end; memory stays bounded.
module private ThreadCache =
    /// What SslStream rents for every read (16 KiB + frame overhead; the pool hands out 32 KiB).
    let sslReadBuffer = 16 * 1024 + 64

    /// SslStream returns its read buffer to `ArrayPool.Shared` on the reading thread, and the pool
    /// keeps one array per size in a thread-local slot: with a thread per client, every idle
    /// connection would hold 32 KiB. Taking it back out and returning it from a pool thread puts
    /// it in the shared per-core stacks instead, where the next read on any thread finds it.
    let private giveBack = Action<byte array>(fun b -> ArrayPool<byte>.Shared.Return b)

    let release () =
        let buffer = ArrayPool<byte>.Shared.Rent sslReadBuffer

        ThreadPool.UnsafeQueueUserWorkItem(giveBack, buffer, preferLocal = false)
        |> ignore

type LineReader(stream: Stream, maxLine: int) =
    // Small: an idle connection holds these for its whole life (a TLS record arrives in pieces anyway).
    let buffer = Array.zeroCreate<byte> 2048
    let mutable start = 0
    let mutable stop = 0
    // `\r\n` counts as the terminator, so a line may hold one more byte if it is the `\r`.
    // Grows with the longest line seen, up to the limit.
    let mutable line = Array.zeroCreate<byte>(min 256 (maxLine + 1))
    let mutable length = 0
    let mutable discarding = false

    let fill () =
        start <- 0
        stop <- stream.Read(buffer, 0, buffer.Length)

        // A short read drained the TLS stream, which has just handed its buffer back.
        if stop > 0 && stop < buffer.Length then
            ThreadCache.release ()

        stop > 0

    let lineText () =
        let n =
            if length = maxLine + 1 && line[maxLine] <> 13uy then
                -1
            else
                length

        if n < 0 then
            Error(Framing.TooLong maxLine)
        else
            Framing.decode (ReadOnlySpan(line, 0, n))

    /// Whether a complete line is read already: the next `Read` returns without waiting.
    member _.HasLine =
        start < stop && ReadOnlySpan(buffer, start, stop - start).IndexOf 10uy >= 0

    /// The next line, blocking until one is complete; EndOfStream when the peer closed.
    member _.Read() : ReadResult =
        let mutable result = ValueNone

        while result.IsNone do
            if start = stop && not (fill ()) then
                result <- ValueSome EndOfStream
            else
                let span = ReadOnlySpan(buffer, start, stop - start)
                let newline = span.IndexOf 10uy
                let chunk = if newline < 0 then span else span.Slice(0, newline)
                start <- start + chunk.Length + (if newline < 0 then 0 else 1)

                if discarding then
                    if newline >= 0 then
                        discarding <- false
                elif length + chunk.Length > maxLine + 1 then
                    length <- 0
                    discarding <- newline < 0
                    result <- ValueSome(Line(Error(Framing.TooLong maxLine)))
                else
                    if length + chunk.Length > line.Length then
                        let grown =
                            Array.zeroCreate<byte>(min (maxLine + 1) (max (2 * line.Length) (length + chunk.Length)))

                        Buffer.BlockCopy(line, 0, grown, 0, length)
                        line <- grown

                    chunk.CopyTo(Span(line, length, chunk.Length))
                    length <- length + chunk.Length

                    if newline >= 0 then
                        let text = lineText ()
                        length <- 0
                        result <- ValueSome(Line text)

        result.Value
