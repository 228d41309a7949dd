/// Properties of `LineReader` over streams that deliver arbitrary bytes in arbitrary pieces, held
/// against a reference model of the framing rules; and of `Protocol.parse` and `Decide.decide` over
/// whatever the reader lets through.
///
/// The exact rule the reader follows (LineReader.fs), which the model below restates:
/// - The input is cut at every `\n`. Each cut-off segment (the `\n` excluded) gives exactly one
///   `Line` result: `TooLong maxLine` when it is longer than `maxLine + 1` bytes, or exactly
///   `maxLine + 1` bytes whose last byte is not `\r` (a `\r` before the `\n` is terminator and does
///   not count); else the segment without its final `\r`, decoded: `NotUtf8` if it is not UTF-8,
///   `ControlCharacters` if it holds C0 (TAB excepted), DEL or C1, else the text.
/// - A too-long segment is reported once, as soon as its bytes pass `maxLine + 1`, not at its end;
///   the rest of it up to its `\n` is skipped without another result.
/// - The bytes after the last `\n` give one `TooLong` if they pass `maxLine + 1` (reported as they
///   arrive), else nothing: the unfinished line is dropped when the stream ends.
/// - Then `EndOfStream`, and again on every later call.
/// So: the number of `Line` results is the number of `\n` in the input, plus one when the
/// unterminated tail is longer than `maxLine + 1` bytes.
module Chat.Server.Tests.FuzzLineReader

open System
open System.IO
open System.Text
open System.Text.Unicode
open FsCheck
open FsCheck.FSharp
open Expecto
open Chat.Testing
open Chat.Domain
open Chat.Server

/// A stream that can only be read, forwards only: what the test streams below share.
[<AbstractClass>]
type ReadOnlyStream() =
    inherit Stream()
    override _.CanRead = true
    override _.CanSeek = false
    override _.CanWrite = false
    override _.Length = raise (NotSupportedException())

    override _.Position
        with get () = raise (NotSupportedException())
        and set (_: int64) = raise (NotSupportedException())

    override _.Flush() = ()
    override _.Seek(_: int64, _: SeekOrigin) : int64 = raise (NotSupportedException())
    override _.SetLength(_: int64) = raise (NotSupportedException())
    override _.Write(_: byte array, _: int, _: int) = raise (NotSupportedException())

/// Hands out `chunks` one per `Read` (a chunk larger than the reader asks for is handed out over
/// several reads), then 0 (end of stream) on every later call.
type ChunkStream(chunks: byte array seq) =
    inherit ReadOnlyStream()
    let mutable pending = chunks |> Seq.filter (fun c -> c.Length > 0) |> List.ofSeq
    let mutable at = 0

    /// How many times `Read` was called, end-of-stream answers included.
    member val Reads = 0 with get, set

    override this.Read(buffer: byte array, offset: int, count: int) =
        this.Reads <- this.Reads + 1

        match pending with
        | [] -> 0
        | chunk :: rest ->
            let n = min count (chunk.Length - at)
            Buffer.BlockCopy(chunk, at, buffer, offset, n)
            at <- at + n

            if at = chunk.Length then
                pending <- rest
                at <- 0

            n

/// `length` copies of `fill`, then `tail`, produced as they are read: the stream itself holds no
/// more than `tail`, so what the reader allocates is all that is allocated.
type RepeatStream(length: int64, fill: byte, tail: byte array) =
    inherit ReadOnlyStream()
    let mutable sent = 0L
    let mutable tailSent = 0

    override _.Read(buffer: byte array, offset: int, count: int) =
        if sent < length then
            let n = int (min (int64 count) (length - sent))
            Span(buffer, offset, n).Fill fill
            sent <- sent + int64 n
            n
        else
            let n = min count (tail.Length - tailSent)
            Buffer.BlockCopy(tail, tailSent, buffer, offset, n)
            tailSent <- tailSent + n
            n

/// The framing rules restated independently of LineReader and Framing.decode.
module LineModel =
    let private forbidden (c: char) =
        (c < ' ' && c <> '\t') || (c >= '\u007f' && c <= '\u009f')

    /// One complete segment (its `\n` excluded) as the reader must report it.
    let decode (maxLine: int) (segment: byte array) : Result<string, Framing.FrameError> =
        let n = segment.Length
        let endsInCr = n > 0 && segment[n - 1] = 13uy

        if n > maxLine + 1 || (n = maxLine + 1 && not endsInCr) then
            Error(Framing.TooLong maxLine)
        else
            let content = if endsInCr then segment[.. n - 2] else segment

            if not (Utf8.IsValid(ReadOnlySpan content)) then
                Error Framing.NotUtf8
            else
                let text = Encoding.UTF8.GetString content

                if text |> Seq.exists forbidden then
                    Error Framing.ControlCharacters
                else
                    Result.Ok text

    /// The segments between `\n`s, and the unterminated rest.
    let split (input: byte array) : byte array list * byte array =
        let segments = ResizeArray<byte array>()
        let mutable start = 0

        for i in 0 .. input.Length - 1 do
            if input[i] = 10uy then
                segments.Add input[start .. i - 1]
                start <- i + 1

        List.ofSeq segments, input[start..]

    /// Every `Line` result the reader must give for `input`, in order (EndOfStream follows).
    let lines (maxLine: int) (input: byte array) : Result<string, Framing.FrameError> list =
        let complete, rest = split input

        [
            for segment in complete do
                decode maxLine segment
            if rest.Length > maxLine + 1 then
                Error(Framing.TooLong maxLine)
        ]

    /// The same, as reader results.
    let expected (maxLine: int) (input: byte array) : ReadResult list =
        (lines maxLine input |> List.map Line) @ [ EndOfStream ]

/// Bytes as a person reads them in a failure message: printable ASCII as is, the rest as `\xNN`,
/// runs of one byte shortened.
let show (bytes: byte array) =
    let sb = StringBuilder()
    let mutable i = 0

    while i < bytes.Length && sb.Length < 600 do
        let b = bytes[i]
        let mutable run = 1

        while i + run < bytes.Length && bytes[i + run] = b do
            run <- run + 1

        let one =
            match b with
            | 10uy -> "\\n"
            | 13uy -> "\\r"
            | 9uy -> "\\t"
            | 92uy -> "\\\\"
            | b when b >= 32uy && b < 127uy -> string (char b)
            | b -> $"\\x{b:x2}"

        if run > 6 then
            sb.Append($"{one}*{run}") |> ignore
            i <- i + run
        else
            sb.Append one |> ignore
            i <- i + 1

    if i < bytes.Length then
        sb.Append($"... ({bytes.Length} bytes)") |> ignore

    sb.ToString()

/// One run of the reader: the line limit, the bytes, and the sizes of the pieces they arrive in.
[<StructuredFormatDisplay("{Shown}")>]
type FuzzCase = {
    MaxLine: int
    Input: byte array
    /// Seeds the cutting of `Input` into pieces (see `pieces`).
    Cut: Cut
} with

    member c.Pieces =
        match c.Cut with
        | Whole -> [ c.Input ]
        | OneByOne -> [ for b in c.Input -> [| b |] ]
        | InPieces(seed, largest) ->
            let rnd = Random seed
            let mutable at = 0

            [
                while at < c.Input.Length do
                    let n = min (c.Input.Length - at) (rnd.Next(1, largest + 1))
                    c.Input[at .. at + n - 1]
                    at <- at + n
            ]

    member c.Shown =
        $"max line {c.MaxLine}, {c.Input.Length} bytes {c.Cut}: \"{show c.Input}\""

and Cut =
    | Whole
    | OneByOne
    | InPieces of seed: int * largest: int

/// Reads until EndOfStream (and a little past it, to see that it stays there), failing instead of
/// looping if the reader gives more results than the input can explain.
let readAll (maxLine: int) (stream: Stream) (inputLength: int) : ReadResult list =
    let reader = LineReader(stream, maxLine)
    let results = ResizeArray<ReadResult>()
    let mutable go = true

    while go do
        let r = reader.Read()
        results.Add r

        if r = EndOfStream then
            go <- false
        elif results.Count > inputLength + 2 then
            failwith $"{results.Count} results from {inputLength} bytes, and still no EndOfStream"

    // Once ended, always ended.
    let again = [ reader.Read(); reader.Read() ]

    if again <> [ EndOfStream; EndOfStream ] then
        failwith $"after EndOfStream: {again}"

    List.ofSeq results

let run (c: FuzzCase) =
    readAll c.MaxLine (new ChunkStream(c.Pieces)) c.Input.Length

module Gens =
    let private ascii (s: string) = Encoding.ASCII.GetBytes s
    let private utf8 (s: string) = Encoding.UTF8.GetBytes s

    /// Printable ASCII, weighted to letters and spaces.
    let printable =
        Gen.frequency [
            6, Gen.elements (ascii "abcxyzABC019/")
            2, Gen.constant 32uy
            1, Gen.choose (32, 126) |> Gen.map byte
        ]

    /// Bytes that make a line wrong, alone or next to others.
    let nasty =
        Gen.elements [
            0uy // NUL
            1uy
            7uy // BEL
            8uy // backspace
            13uy // lone \r
            27uy // ESC
            127uy // DEL
            0x80uy // lone continuation byte
            0xbfuy
            0xc0uy // never valid: overlong lead
            0xc3uy // lead byte, maybe of something valid
            0xe2uy
            0xeduy // lead of a UTF-16 surrogate
            0xf0uy
            0xf8uy // never valid
            0xffuy // never valid
        ]

    /// A length near the limit, often exactly at its edges.
    let length (maxLine: int) =
        Gen.frequency [
            4, Gen.choose (0, maxLine + 2)
            3,
            Gen.elements [ maxLine - 1; maxLine; maxLine + 1; maxLine + 2 ]
            |> Gen.map (max 0)
            1, Gen.choose (maxLine, 2 * maxLine + 2100)
        ]

    let piece (maxLine: int) =
        Gen.frequency [
            5, length maxLine |> Gen.bind (fun n -> Gen.arrayOfLength n printable)
            2, Gen.map2 Array.create (length maxLine) printable
            3, Gen.choose (1, 4) |> Gen.bind (fun n -> Gen.arrayOfLength n nasty)
            4, Gen.constant (ascii "\n")
            2, Gen.constant (ascii "\r\n")
            1, Gen.constant (ascii "\r")
            1, Gen.constant (ascii "\t")
            2,
            Gen.elements [
                "é"
                "€"
                "😀"
                "日本"
                "\u00a0"
                "\u200b"
                "\u0085" // C1 NEL, valid UTF-8
                "\u009b" // C1 CSI, valid UTF-8
            ]
            |> Gen.map utf8
            1,
            Gen.elements [ "\u001b[31m"; "\u001b]0;title\u0007"; "\u001b[2J" ]
            |> Gen.map ascii
            1,
            Gen.elements [ "LOGIN "; "/ping "; "/join "; "//"; "REGISTER " ]
            |> Gen.map ascii
            // A UTF-16 surrogate and an overlong '/', both invalid.
            1, Gen.elements [ [| 0xeduy; 0xa0uy; 0x80uy |]; [| 0xc0uy; 0xafuy |] ]
        ]

    let maxLine =
        Gen.frequency [
            6, Gen.choose (1, 40)
            // Around the reader's 2048-byte buffer and the server's default limit.
            1, Gen.choose (2040, 2060)
            1, Gen.choose (4090, 4100)
        ]

    let cut =
        let random largest =
            Gen.map2 (fun seed l -> InPieces(seed, l)) (Gen.choose (0, Int32.MaxValue)) largest

        Gen.frequency [
            1, Gen.constant Whole
            1, Gen.constant OneByOne
            2, random (Gen.choose (1, 8))
            2, random (Gen.choose (1, 5000))
        ]

    let fuzzCase =
        gen {
            let! maxLine = maxLine
            let! pieces = Gen.listOf (piece maxLine)
            let! cut = cut

            return {
                MaxLine = maxLine
                Input = Array.concat pieces
                Cut = cut
            }
        }

    /// Text a client may send: no control characters, possibly non-ASCII.
    let safeChar =
        Gen.frequency [
            8, Gen.choose (32, 126) |> Gen.map (char >> string)
            1, Gen.constant "\t"
            1, Gen.elements [ "é"; "€"; "😀"; "日本"; "\u00a0" ]
        ]

    /// Lines of safe text that fit in `maxLine` bytes, each with `\n` or `\r\n`.
    let wellFormed =
        gen {
            let! maxLine = maxLine

            let line =
                Gen.listOf safeChar
                |> Gen.map (fun cs ->
                    // Whole characters only, so that the cut never splits one.
                    let fits =
                        cs
                        |> List.scan (fun (s: string) c -> s + c) ""
                        |> List.takeWhile (fun s -> Encoding.UTF8.GetByteCount s <= maxLine)

                    List.last fits)

            let! lines = Gen.listOf line
            let! terminators = Gen.listOfLength lines.Length (Gen.elements [ "\n"; "\r\n" ])
            let! cut = cut
            let text = List.map2 (+) lines terminators |> String.concat ""

            return
                lines,
                {
                    MaxLine = maxLine
                    Input = Encoding.UTF8.GetBytes text
                    Cut = cut
                }
        }

type FuzzArbs =
    static member FuzzCase() = Arb.fromGen Gens.fuzzCase

/// The configuration of the properties over `FuzzCase`s: 300 cases each.
let private fuzz = {
    FsCheckConfig.defaultConfig with
        maxTest = 300
        arbitrary = [ typeof<FuzzArbs> ]
}

let private tries (n: int) = {
    FsCheckConfig.defaultConfig with
        maxTest = n
}

let ``the reader returns exactly what the model says, then EndOfStream, however the bytes arrive`` (c: FuzzCase) =
    let got = run c
    let expected = LineModel.expected c.MaxLine c.Input
    (got = expected) |> Prop.label $"expected {expected}\n     got {got}"

let ``Read never throws and always ends, on any bytes and any limit`` (input: byte array, limit: PositiveInt) =
    let maxLine = 1 + limit.Get % 64
    let results = readAll maxLine (new ChunkStream([ input ])) input.Length

    let defined =
        results
        |> List.forall (function
            | Line(Result.Ok s) -> not (isNull s)
            | Line(Error(Framing.TooLong n)) -> n = maxLine
            | Line(Error Framing.NotUtf8)
            | Line(Error Framing.ControlCharacters)
            | EndOfStream -> true)

    defined && List.last results = EndOfStream

let ``one Line per \n, plus one when the unterminated tail is too long`` (c: FuzzCase) =
    let lines = run c |> List.filter ((<>) EndOfStream)
    let newlines = c.Input |> Array.filter ((=) 10uy) |> Array.length
    let _, tail = LineModel.split c.Input
    let overlongTail = if tail.Length > c.MaxLine + 1 then 1 else 0

    lines.Length = newlines + overlongTail
    |> Prop.label $"{lines.Length} lines, {newlines} newlines"

let ``accepted lines hold no control characters and at most maxLine bytes`` (c: FuzzCase) =
    run c
    |> List.forall (function
        | Line(Result.Ok s) -> not (LineText.hasForbidden s) && Encoding.UTF8.GetByteCount s <= c.MaxLine
        | _ -> true)

let ``how the bytes are cut into reads does not change the lines`` (c: FuzzCase) =
    let whole = run { c with Cut = Whole }
    let byteByByte = run { c with Cut = OneByOne }
    let asGenerated = run c
    whole = byteByByte && whole = asGenerated

let ``lines that fit and are clean come out as a plain split on \n gives them`` () =
    Prop.forAll (Arb.fromGen Gens.wellFormed) (fun (lines, c) ->
        let text = Encoding.UTF8.GetString c.Input

        // The reference splitter: cut at \n, drop one \r before it, forget the empty rest.
        let reference =
            text.Split '\n'
            |> Array.take (text.Split('\n').Length - 1)
            |> Array.map (fun l -> if l.EndsWith '\r' then l[.. l.Length - 2] else l)
            |> List.ofArray

        let accepted = [
            for r in run c do
                match r with
                | Line(Result.Ok s) -> s
                | Line(Error e) -> failwith $"refused: {e}"
                | EndOfStream -> ()
        ]

        accepted = reference
        && accepted = lines
        && String.concat "" accepted = String.concat "" reference)

let ``a 1 MB line without a newline is one TooLong, then EndOfStream, in bounded memory`` () =
    let maxLine = 4096
    let megabyte = 1 <<< 20
    let read (stream: Stream) = readAll maxLine stream megabyte
    // Once before measuring, so that first-call costs (JIT, static initialisers) are not counted.
    read (new RepeatStream(int64 megabyte, byte 'x', [||])) |> ignore

    let stream = new RepeatStream(int64 megabyte, byte 'x', [||])
    let before = GC.GetAllocatedBytesForCurrentThread()
    let results = read stream
    let allocated = GC.GetAllocatedBytesForCurrentThread() - before

    Expect.equal results ([ Line(Error(Framing.TooLong maxLine)); EndOfStream ]) "results"
    // Its two buffers are 2 KB and at most maxLine + 1: nothing close to the megabyte it read.
    Expect.isLessThan allocated (64L * 1024L) $"bytes allocated while reading {megabyte} bytes"

let ``after a 1 MB line the next line is read as usual`` () =
    let stream =
        new RepeatStream(1L <<< 20, byte 'x', Encoding.ASCII.GetBytes "still the long one\r\n/ping x\n")

    Expect.equal
        (readAll 4096 stream (1 <<< 20))
        ([ Line(Error(Framing.TooLong 4096)); Line(Result.Ok "/ping x"); EndOfStream ])
        "readAll 4096 stream (1 <<< 20)"

let private describe =
    function
    | Line(Result.Ok s) -> "ok " + s
    | Line(Error(Framing.TooLong _)) -> "too long"
    | Line(Error Framing.NotUtf8) -> "not utf-8"
    | Line(Error Framing.ControlCharacters) -> "control"
    | EndOfStream -> "end"

let ``the edges of a limit of 4 bytes`` (input: string, expected: string) =
    for cut in [ Whole; OneByOne ] do
        let c = {
            MaxLine = 4
            Input = Encoding.ASCII.GetBytes input
            Cut = cut
        }

        Expect.equal (run c |> List.map describe |> String.concat ", ") expected (string cut)

/// Lines as they come out of the reader, decoded: from arbitrary bytes, arbitrary strings, and
/// command-shaped text.
module LineGens =
    let private decoded (bytes: byte array) =
        match Framing.decode (ReadOnlySpan bytes) with
        | Result.Ok s -> Some s
        | Error _ -> None

    let private commandShaped =
        gen {
            let! head =
                Gen.elements [
                    ""
                    " "
                    "\t"
                    "/"
                    "//"
                    "LOGIN"
                    "LOGIN "
                    "REGISTER "
                    "RESUME "
                    "login "
                    "/join "
                    "/JOIN "
                    "/leave"
                    "/rooms"
                    "/who"
                    "/users"
                    "/subscribe "
                    "/unsubscribe "
                    "/subs"
                    "/publish "
                    "/history "
                    "/history after 1700000000000-0 "
                    "/history before "
                    "/msg "
                    "/token"
                    "/ping "
                    "/help"
                    "/quit"
                    "/nosuch "
                ]

            let! words =
                Gen.listOf (
                    Gen.elements [
                        "alice"
                        "dev"
                        "x y"
                        "-1"
                        "007"
                        "99999999999"
                        "é😀"
                        "   "
                        "\t"
                        "a.b-c#d"
                    ]
                )

            let! tail = Gen.listOf Gens.safeChar
            return head + String.concat " " words + String.concat "" tail
        }

    let line =
        Gen.frequency [
            1, Gen.arrayOf Gens.printable |> Gen.map decoded
            1, Gen.listOf (Gens.piece 64) |> Gen.map (Array.concat >> decoded)
            1,
            ArbMap.defaults
            |> ArbMap.generate<string>
            |> Gen.map (fun s -> decoded (Encoding.UTF8.GetBytes(s: string)))
            3, commandShaped |> Gen.map Some
        ]
        |> Gen.map (Option.filter (fun s -> not (s.Contains '\n')))
        |> Gen.where Option.isSome
        |> Gen.map Option.get

let private limits: Decide.Limits = { MinPassword = 8; MsgRate = 50 }

let private sessions =
    let alice = (Username.tryCreate "alice").Value

    [
        Anonymous
        Active {
            User = alice
            Room = RoomName.lobby
            Bucket = TokenBucket.full limits.MsgRate 0L
            Token = None
        }
        // Out of tokens: messages are refused, but still answered.
        Active {
            User = alice
            Room = (RoomName.tryCreate "dev").Value
            Bucket = { Tokens = 0.0; AtMs = 1_000L }
            Token = None
        }
    ]

let ``every decoded line parses, and is blank or gets at least one effect in any session, its replies well-formed`` () =
    Prop.forAll (Arb.fromGen LineGens.line) (fun line ->
        match Protocol.parse line with
        | None -> LineText.isBlank line |> Prop.label "only a blank line is ignored"
        | Some parsed ->
            let outcomes = [
                for session in sessions do
                    let _, effects = Decide.decide limits 1_000L session parsed
                    session, effects
            ]

            let replies = [
                for _, effects in outcomes do
                    for e in effects do
                        match e with
                        | Reply msg -> Protocol.render msg
                        | _ -> ()
            ]

            let badReplies =
                replies
                |> List.filter (fun r -> (ServerLine.parse r).IsNone || LineText.hasForbidden r || r.Contains '\n')

            (not (LineText.isBlank line) |> Prop.label "a blank line is not parsed")
            .&. (outcomes
                 |> List.forall (fun (_, effects) -> not effects.IsEmpty)
                 |> Prop.label $"an effect in every session: {outcomes}")
            .&. (badReplies.IsEmpty
                 |> Prop.label $"replies that are not chat/1 lines: {badReplies}"))

[<Tests>]
let tests =
    testList "FuzzLineReader" [
        testPropertyWithConfig
            fuzz
            "the reader returns exactly what the model says, then EndOfStream, however the bytes arrive"
            ``the reader returns exactly what the model says, then EndOfStream, however the bytes arrive``
        testPropertyWithConfig
            (tries 500)
            "Read never throws and always ends, on any bytes and any limit"
            ``Read never throws and always ends, on any bytes and any limit``
        testPropertyWithConfig
            fuzz
            "one Line per \\n, plus one when the unterminated tail is too long"
            ``one Line per \n, plus one when the unterminated tail is too long``
        testPropertyWithConfig
            fuzz
            "accepted lines hold no control characters and at most maxLine bytes"
            ``accepted lines hold no control characters and at most maxLine bytes``
        testPropertyWithConfig
            fuzz
            "how the bytes are cut into reads does not change the lines"
            ``how the bytes are cut into reads does not change the lines``
        testPropertyWithConfig
            (tries 300)
            "lines that fit and are clean come out as a plain split on \\n gives them"
            ``lines that fit and are clean come out as a plain split on \n gives them``
        testCase
            "a 1 MB line without a newline is one TooLong, then EndOfStream, in bounded memory"
            ``a 1 MB line without a newline is one TooLong, then EndOfStream, in bounded memory``
        testCase "after a 1 MB line the next line is read as usual" ``after a 1 MB line the next line is read as usual``
        testPropertyWithConfig
            (tries 1000)
            "every decoded line parses, and is blank or gets at least one effect in any session, its replies well-formed"
            ``every decoded line parses, and is blank or gets at least one effect in any session, its replies well-formed``
        for input, expected in
            [
                ("xxxx\n", "ok xxxx, end")
                ("xxxx\r\n", "ok xxxx, end")
                ("xxx\r\r\n", "control, end") // the last \r is terminator, the other one is text
                ("xxxxx\n", "too long, end") // maxLine + 1 bytes, not ending in \r
                ("xxxx\r\r\n", "too long, end") // maxLine + 2 bytes
                ("x\rx\n", "control, end")
                ("xx\rxx\n", "too long, end") // maxLine + 1 bytes, the \r not last
                ("\r\n\n  \n", "ok , ok , ok   , end") // blank lines are the parser's business
                ("xxxxx", "end") // maxLine + 1 bytes, unterminated: dropped at the end
                ("xxxxxx", "too long, end") // maxLine + 2 bytes, unterminated: reported as they arrive
                ("xxxxxxxxxx\nyy\n", "too long, ok yy, end")
            ] do
            testCase (named "the edges of a limit of 4 bytes" (input, expected)) (fun () ->
                ``the edges of a limit of 4 bytes`` (input, expected))
    ]
