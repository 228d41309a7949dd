/// `Admission`: the per-instance connection limit, the per-address one, and REGISTER per address.
module Chat.Domain.Tests.AdmissionTests

open Expecto
open FsCheck
open Chat.Domain
open Chat.Domain.Tests.Builders

[<Tests>]
let tests =
    testList "AdmissionTests" [
        testCase "a connection below both limits is admitted" (fun () ->
            Admission.connection 3 2 2 1 =! Admission.Admitted)

        testCase "the instance's total refuses the next connection once reached" (fun () ->
            Admission.connection 3 0 3 0 =! Admission.TooManyOnInstance
            Admission.connection 3 0 2 0 =! Admission.Admitted)

        testCase "the per-address limit refuses the next connection from that address" (fun () ->
            Admission.connection 0 2 100 2 =! Admission.TooManyFromAddress
            Admission.connection 0 2 100 1 =! Admission.Admitted)

        testCase "both reached: the instance's limit is the one named" (fun () ->
            Admission.connection 5 2 5 2 =! Admission.TooManyOnInstance)

        chatProperty "limits of 0 admit any count"
        <| fun (NonNegativeInt total) (NonNegativeInt fromAddress) ->
            Admission.connection 0 0 total fromAddress = Admission.Admitted

        chatProperty "admitted exactly when both counts are below their (non-zero) limits"
        <| fun (PositiveInt maxTotal) (PositiveInt maxPerAddress) (NonNegativeInt total) (NonNegativeInt n) ->
            (Admission.connection maxTotal maxPerAddress total n = Admission.Admitted) =
                (total < maxTotal && n < maxPerAddress)

        testCase "REGISTER below the hourly limit goes ahead" (fun () ->
            Admission.register 3 0 =! None
            Admission.register 3 2 =! None)

        testCase "REGISTER at the hourly limit answers RATE_LIMITED" (fun () ->
            Admission.register 3 3
            =! Some(Err(RateLimited, "at most 3 new accounts an hour from one address; try again later"))

            (Admission.register 3 50).IsSome =! true)

        chatProperty "REGISTER with limit 0 is never refused"
        <| fun (NonNegativeInt sofar) -> Admission.register 0 sofar = None

        chatProperty "REGISTER is refused exactly from the limit on"
        <| fun (PositiveInt limit) (NonNegativeInt sofar) -> (Admission.register limit sofar).IsSome = (sofar >= limit)
    ]
