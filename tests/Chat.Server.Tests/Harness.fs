namespace Chat.Server.Tests

open System
open System.Runtime.ExceptionServices
open System.Text
open Microsoft.FSharp.Reflection
open Expecto
open Chat.Testing

/// Assertions Expecto has no word for, beside its own (`Expect.equal` and the others still
/// resolve to Expecto's module): actual first, the message last.
module Expect =
    /// Fails when `actual` contains `item`.
    let notContains (actual: seq<'a>) (item: 'a) (message: string) =
        if Seq.contains item actual then
            failtestf "%s. Sequence should not contain %A, but it does: %A" message item (List.ofSeq actual)

    /// Fails unless `low <= actual <= high`.
    let inRange (actual: 'a) (low: 'a) (high: 'a) (message: string) =
        if actual < low || actual > high then
            failtestf "%s. Expected a value in [%A, %A], but got %A." message low high actual

/// What the fixture of a test list does around each of its tests.
type ITestScope =
    /// Ends the test: closes its clients, and returns the lines they received that are not
    /// chat/1 server lines (which fail a test that passed otherwise).
    abstract EndTest: unit -> string list
    /// What a failure message gets added: the last output of the servers involved.
    abstract Diagnostics: unit -> string

/// One test of a list whose tests run on a fixture of type 'F.
type Case<'F> = {
    Name: string
    Body: 'F -> unit
    /// Why the case is skipped (shown as skipped in the run's count), when it is.
    Skipped: string option
}

/// Writing tests as cases of a fixture.
[<AutoOpen>]
module Cases =
    /// How a test case's arguments are shown in its name, as the names always were: strings quoted
    /// with C# escapes, numbers in decimal, enums by name, tuple elements separated by commas.
    let rec shown (value: obj) =
        match value with
        | :? string as s ->
            let b = StringBuilder("\"")

            for ch in s do
                match ch with
                | '\\' -> b.Append @"\\"
                | '"' -> b.Append "\\\""
                | '\n' -> b.Append @"\n"
                | '\r' -> b.Append @"\r"
                | '\t' -> b.Append @"\t"
                | '\000' -> b.Append @"\0"
                | c when Char.IsControl c -> b.Append(sprintf "\\x%04X" (int c))
                | c -> b.Append c
                |> ignore

            b.Append('"').ToString()
        | null -> "null"
        | v when FSharpType.IsTuple(v.GetType()) -> FSharpValue.GetTupleFields v |> Array.map shown |> String.concat ","
        | v -> string v

    /// The name of the test of `name` with `argument`: `name(<argument shown>)`.
    let named (name: string) (argument: 'a) = $"{name}({shown (box argument)})"

    /// A test of the list: `body` gets the list's fixture.
    let case (name: string) (body: 'F -> unit) : Case<'F> = {
        Name = name
        Body = body
        Skipped = None
    }

    /// A case kept but not run, for a known server bug: `reason` says which; the run counts it skipped.
    let skipped (reason: string) (c: Case<'F>) : Case<'F> = { c with Skipped = Some reason }

    /// The Expecto test of a case: skipped ones become pending tests that say why.
    let testOf (c: Case<'F>) (run: unit -> unit) =
        match c.Skipped with
        | Some reason -> ptestCase $"{c.Name} [skipped: {reason}]" run
        | None -> testCase c.Name run

    /// One test per argument, named `name(<argument>)`.
    let cases (name: string) (arguments: 'a list) (body: 'F -> 'a -> unit) : Case<'F> list = [
        for a in arguments ->
            {
                Name = named name a
                Body = fun f -> body f a
                Skipped = None
            }
    ]

/// A fixture shared by the tests of one sequenced list: made by the first of them that runs, and
/// disposed after the last one (or when the program exits, if a filter left some out). When it
/// cannot be made, every test of the list fails with that error.
type private Shared<'F when 'F :> IDisposable>(make: unit -> 'F, count: int) =
    let gate = obj ()
    let mutable state: Result<'F, exn> option = None
    let mutable left = count

    let dispose () =
        match state with
        | Some(Ok f) -> f.Dispose()
        | _ -> ()

        state <- None

    do AppDomain.CurrentDomain.ProcessExit.Add(fun _ -> lock gate dispose)

    member _.Get() =
        lock gate (fun () ->
            match state with
            | Some(Ok f) -> f
            | Some(Error e) -> raise (Exception("the fixture of this list did not start", e))
            | None ->
                try
                    let f = make ()
                    state <- Some(Ok f)
                    f
                with e ->
                    state <- Some(Error e)
                    reraise ())

    member _.Done() =
        lock gate (fun () ->
            left <- left - 1

            if left = 0 then
                dispose ())

module Harness =
    /// Every list with processes (servers, redis-server) runs in this one sequenced group: one test
    /// after another, in order, while the lists that need none (the fuzzed line reader, the
    /// in-memory contract) run beside it.
    let private processes = "servers and redis-server"

    let private rethrow (e: exn) : 'a =
        ExceptionDispatchInfo.Capture(e).Throw()
        Unchecked.defaultof<_>

    /// Runs `body` on `fixture` and ends the test. A failure (an Expect, or a line a LineClient
    /// waited for in vain) fails the test with the fixture's diagnostics added; any other exception
    /// errors it, with them too. A passing test fails when its clients received a line that is not
    /// a chat/1 server line.
    let run<'F when 'F :> ITestScope> (fixture: 'F) (body: 'F -> unit) =
        let outcome =
            try
                body fixture
                None
            with e ->
                Some e

        let malformed =
            try
                fixture.EndTest()
            with e when outcome.IsSome -> [ $"(ending the test failed too: {e.Message})" ]

        match outcome with
        | Some(:? IgnoreException as e) -> rethrow e
        | Some(:? AssertException as e) -> failtest $"{e.Message}\n{fixture.Diagnostics()}"
        | Some(:? ExpectationFailedException as e) -> failtest $"{e.Message}\n{fixture.Diagnostics()}"
        | Some e -> raise (Exception($"{e.GetType().Name}: {e.Message}\n{fixture.Diagnostics()}", e))
        | None ->
            if not malformed.IsEmpty then
                failtest ("lines that are not chat/1 server lines:\n" + String.Join("\n", malformed))

    /// The tests of `cases` in sequence, on one fixture made when the first of them runs and
    /// disposed after the last.
    let shared<'F when 'F :> ITestScope and 'F :> IDisposable>
        (name: string)
        (make: unit -> 'F)
        (cases: Case<'F> list)
        : Test =
        let fixture = Shared(make, cases.Length)

        testSequencedGroup
            processes
            (testList name [
                for c in cases ->
                    Cases.testOf c (fun () ->
                        try
                            run (fixture.Get()) c.Body
                        finally
                            fixture.Done())
            ])

    /// The tests of `cases`, each on a fixture of its own, disposed after it; in sequence, or in
    /// inParallel with anything when `inParallel` (fixtures that share nothing).
    let perTest<'F when 'F :> ITestScope and 'F :> IDisposable>
        (name: string)
        (inParallel: bool)
        (make: unit -> 'F)
        (cases: Case<'F> list)
        : Test =
        let list =
            testList name [
                for c in cases ->
                    Cases.testOf c (fun () ->
                        use f = make ()
                        run f c.Body)
            ]

        if inParallel then
            list
        else
            testSequencedGroup processes list
