namespace Chat.Client

open System
open System.Diagnostics
open System.Threading

/// How to get a new connection after a lost one.
type Redial = {
    Policy: Backoff.Policy
    Connect: unit -> Result<TlsConnection, ConnectError>
    Explain: ConnectError -> string
}

/// The connection the user's lines go to: none while logging in, reconnecting or catching up, so that what is
/// typed meanwhile waits instead of reaching a session that is not ready for it.
type internal Link() =
    let gate = obj ()
    let mutable current: TlsConnection option = None

    member _.Open(conn: TlsConnection) =
        lock gate (fun () ->
            current <- Some conn
            Monitor.PulseAll gate)

    /// Only `conn`: a newer connection opened meanwhile stays open.
    member _.Shut(conn: TlsConnection) =
        lock gate (fun () ->
            match current with
            | Some c when obj.ReferenceEquals(c, conn) -> current <- None
            | _ -> ())

    /// The open connection, waiting up to `timeout` (Timeout.InfiniteTimeSpan: for ever) for one.
    member _.Await(timeout: TimeSpan) : TlsConnection option =
        let clock = Stopwatch.StartNew()

        lock gate (fun () ->
            let mutable waiting = current.IsNone

            while waiting do
                if timeout = Timeout.InfiniteTimeSpan then
                    Monitor.Wait gate |> ignore
                    waiting <- current.IsNone
                else
                    let left = timeout - clock.Elapsed

                    if left > TimeSpan.Zero then
                        Monitor.Wait(gate, left) |> ignore

                    waiting <- current.IsNone && timeout - clock.Elapsed > TimeSpan.Zero

            current)
