namespace Chat.Server

open System
open System.Buffers
open System.Collections.Generic
open System.IO
open System.Text
open System.Threading
open System.Threading.Tasks
open Chat.Domain

module Wire =
    /// A server line as it goes out: UTF-8 with its `\n`. Rendered once, shared by every receiver.
    let encode (msg: ServerMsg) : byte array =
        let text = Protocol.render msg
        let line = Array.zeroCreate<byte>(Encoding.UTF8.GetByteCount text + 1)
        Encoding.UTF8.GetBytes(text, 0, text.Length, line, 0) |> ignore
        line[line.Length - 1] <- 10uy
        line

/// How an outbox ended.
type OutboxEnd =
    /// Everything queued was written; the connection may be closed politely.
    | Drained
    /// A write failed or the client was too slow; close at once.
    | Broken

/// One connection's outbound lines: a bounded queue drained by at most one asynchronous writer,
/// so that a client that does not read never blocks whoever sends to it (ergo's send queue).
/// Lines are batched into one TLS write. `ended` is called once, from the writer.
/// The outbox is its own thread-pool work item and awaits a write only when it does not complete
/// at once: a delivery allocates nothing, which keeps collections (and their pauses) rare.
/// An overflow counts in `metrics`.
type Outbox(stream: Stream, capacity: int, metrics: ServerMetrics, ended: OutboxEnd -> unit) as this =
    let gate = obj ()
    let queue = Queue<byte array>()
    let mutable writing = false
    // No more lines are accepted; the outbox ends once the queue is written.
    let mutable closing = false
    let mutable finished = false
    let batchBytes = 64 * 1024
    // The write in flight and its buffer, while it completes asynchronously.
    let mutable pending = ValueTask()
    let mutable pendingBuffer: byte array = null

    let slow =
        Wire.encode (Err(SlowConsumer, "you are not reading fast enough; closing the connection"))

    let finish how =
        let first =
            lock gate (fun () ->
                not finished
                && (finished <- true
                    true))

        if first then
            ended how

    /// Copies queued lines, up to one batch, into a rented buffer; 0 bytes when there is nothing
    /// to write (and the writer stops). The buffer is returned once written.
    let take () : struct (byte array * int) =
        lock gate (fun () ->
            if queue.Count = 0 then
                writing <- false
                struct (null, 0)
            else
                let mutable size = 0

                for line in queue do
                    if size < batchBytes then
                        size <- size + line.Length

                let buffer = ArrayPool<byte>.Shared.Rent size
                let mutable at = 0

                while queue.Count > 0 && at < size do
                    let line = queue.Dequeue()
                    Buffer.BlockCopy(line, 0, buffer, at, line.Length)
                    at <- at + line.Length

                struct (buffer, at))

    /// The outcome of a completed write; SslStream writes through, no flush needed. Any failure
    /// (the peer reset, the stream closed, a TLS error) ends this connection and only this one:
    /// it runs on a pool thread, where an escaping exception would end the process.
    let completed (write: ValueTask) (buffer: byte array) : bool =
        try
            try
                write.GetAwaiter().GetResult()
                true
            with _ ->
                false
        finally
            ArrayPool<byte>.Shared.Return buffer

    let broken () =
        lock gate (fun () ->
            closing <- true
            writing <- false
            queue.Clear())

        finish Broken

    let mutable resume: Action = null

    /// Writes batches until the queue is empty, a write fails, or a write has to wait (then
    /// `resume` carries on once it is done).
    let pump () =
        let mutable go = true

        while go do
            let struct (buffer, size) = take ()

            if size = 0 then
                go <- false

                if lock gate (fun () -> closing && not writing) then
                    finish Drained
            else
                let write =
                    try
                        stream.WriteAsync(ReadOnlyMemory(buffer, 0, size))
                    with e ->
                        ValueTask(Task.FromException e)

                if not write.IsCompleted then
                    go <- false
                    pending <- write
                    pendingBuffer <- buffer
                    write.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted resume
                elif not (completed write buffer) then
                    go <- false
                    broken ()

    do
        resume <-
            Action(fun () ->
                let write, buffer = pending, pendingBuffer
                pending <- ValueTask()
                pendingBuffer <- null
                if completed write buffer then pump () else broken ())

    /// Call under the lock.
    let startWriter () =
        if not writing then
            writing <- true
            ThreadPool.UnsafeQueueUserWorkItem(this, false) |> ignore

    interface IThreadPoolWorkItem with
        member _.Execute() = pump ()

    /// Queues a line; a full queue makes this client a slow consumer: its queue is replaced by
    /// `ERR SLOW_CONSUMER` and the connection ends. Never blocks on the network.
    member _.Send(line: byte array) : unit =
        let overflowed =
            lock gate (fun () ->
                if closing then
                    false
                elif queue.Count >= capacity then
                    queue.Clear()
                    queue.Enqueue slow
                    closing <- true
                    startWriter ()
                    true
                else
                    queue.Enqueue line
                    startWriter ()
                    false)

        if overflowed then
            metrics.SlowConsumer()
            // Best effort: the error line may never get through a client that does not read.
            Task.Delay(TimeSpan.FromSeconds 2.0).ContinueWith(fun (_: Task) -> finish Broken)
            |> ignore

    member this.Send(msg: ServerMsg) = this.Send(Wire.encode msg)

    /// Queues a last line (past the bound) and ends the outbox once it is written.
    member _.SendLast(line: byte array) : unit =
        lock gate (fun () ->
            if not closing then
                queue.Enqueue line
                closing <- true

            startWriter ())

    member this.SendLast(msg: ServerMsg) = this.SendLast(Wire.encode msg)

    /// Accepts nothing more; ends once the queue is written.
    member _.Close() =
        lock gate (fun () ->
            closing <- true
            startWriter ())

    /// Lines waiting, for metrics.
    member _.Pending = lock gate (fun () -> queue.Count)
