import Foundation
import Locks
import Logging
import Metrics
import NIOCore

/// Delivery settings (all configurable; see the README).
public struct DeliverySettings: Sendable {
    /// One attempt's limit, connection included.
    public var timeoutSeconds: Double
    /// Backoff: the first retry after about this long, doubling each time, with ±20 % jitter.
    public var retryBaseSeconds: Double
    public var retryMaxDelaySeconds: Double
    /// Retries go on this long after the event (a last attempt at the end), then it has failed.
    public var retryWindowSeconds: Int
    /// Deliveries sent at once by one instance (each to a different webhook).
    public var concurrency: Int

    public init(
        timeoutSeconds: Double = 10, retryBaseSeconds: Double = 5, retryMaxDelaySeconds: Double = 3600,
        retryWindowSeconds: Int = 86_400, concurrency: Int = 16
    ) {
        self.timeoutSeconds = timeoutSeconds
        self.retryBaseSeconds = retryBaseSeconds
        self.retryMaxDelaySeconds = retryMaxDelaySeconds
        self.retryWindowSeconds = retryWindowSeconds
        self.concurrency = concurrency
    }

    /// Exponential backoff with jitter before attempt `attempt + 1`.
    func delay(afterAttempt attempt: Int) -> Double {
        let exponential = retryBaseSeconds * pow(2, Double(min(attempt - 1, 30)))
        return min(exponential, retryMaxDelaySeconds) * Double.random(in: 0.8...1.2)
    }
}

/// Sends claimed deliveries: `POST` of the envelope with the Standard Webhooks headers. It has
/// its own small database pool, so a slow receiver never holds a connection the API needs.
public struct WebhookDeliverer: Sendable {
    let queue: DeliveryQueue
    let sealer: KeySealer
    let policy: WebhookURLPolicy
    let settings: DeliverySettings
    let sender: WebhookSender
    let logger: Logger

    private let attempts = Counter(label: "lockcloud_webhook_attempts_total", dimensions: [("outcome", "success")])
    private let failedAttempts = Counter(label: "lockcloud_webhook_attempts_total", dimensions: [("outcome", "failure")])
    private let failures = Counter(label: "lockcloud_webhook_deliveries_failed_total")
    private let backlog = Gauge(label: "lockcloud_webhook_backlog")
    private let latency = Timer(label: "lockcloud_webhook_delivery_latency_seconds", preferredDisplayUnit: .seconds)

    /// Throws when the system's TLS trust roots cannot be loaded.
    public init(queue: DeliveryQueue, sealer: KeySealer, policy: WebhookURLPolicy, settings: DeliverySettings, logger: Logger) throws {
        self.init(queue: queue, sealer: sealer, policy: policy, settings: settings, sender: try WebhookSender(), logger: logger)
    }

    /// Tests give their own sender (trusting their own certificate) and policy (resolver).
    init(queue: DeliveryQueue, sealer: KeySealer, policy: WebhookURLPolicy, settings: DeliverySettings, sender: WebhookSender, logger: Logger) {
        self.queue = queue
        self.sealer = sealer
        self.policy = policy
        self.settings = settings
        self.sender = sender
        self.logger = logger
    }

    /// Runs until `keepGoing` says stop. Up to `concurrency` deliveries are in flight at once,
    /// each on its own, and a free slot is filled as soon as it frees: a receiver that takes
    /// the whole timeout holds one slot (its webhook's, which has one delivery in flight at a
    /// time anyway), never the others. Claims happen when a delivery finishes (its webhook's
    /// next event may be waiting) and on a short poll for events written by any instance.
    public func run(while keepGoing: @Sendable () -> Bool) async {
        enum Finished: Sendable { case delivery, poll }
        var lastBacklog = ContinuousClock.now - .seconds(10)
        await withTaskGroup(of: Finished.self) { group in
            var inFlight = 0
            var pollPending = false
            while keepGoing() {
                if inFlight < settings.concurrency {
                    do {
                        for claim in try await claimDue(limit: settings.concurrency - inFlight) {
                            inFlight += 1
                            group.addTask {
                                await self.deliver(claim)
                                return .delivery
                            }
                        }
                        if ContinuousClock.now - lastBacklog > .seconds(1) {
                            backlog.record(try await queue.backlog())
                            lastBacklog = .now
                        }
                    } catch {
                        logger.warning("webhook delivery claim failed; retrying", metadata: ["error": "\(error)"])
                    }
                }
                if !pollPending {
                    pollPending = true
                    group.addTask {
                        try? await Task.sleep(for: Self.pollInterval)
                        return .poll
                    }
                }
                // Wait for a slot to free or for the next poll, whichever comes first.
                switch await group.next() {
                case .delivery?: inFlight -= 1
                case .poll?: pollPending = false
                case nil: break
                }
            }
            // Stopping: no new claims; the attempts in flight finish (each bounded by the timeout).
        }
    }

    /// How often an idle instance looks for new deliveries. The claim's cost grows with the
    /// number of webhooks that have undelivered events, not with the number of webhooks.
    static let pollInterval = Duration.milliseconds(200)

    /// Claims up to `limit` due deliveries (each the head of a different webhook's queue).
    func claimDue(limit: Int) async throws -> [DeliveryQueue.Claim] {
        // The lease outlasts one attempt (bounded by the timeout) and the recording of its result.
        let round = try await queue.claim(limit: limit, leaseSeconds: settings.timeoutSeconds + 5)
        if round.dropped > 0 {
            logger.info("webhook deliveries dropped: their grant was revoked", metadata: ["count": "\(round.dropped)"])
        }
        return round.claims
    }

    func deliver(_ claim: DeliveryQueue.Claim) async {
        let outcome = await attempt(claim)
        do {
            if case .success(let status) = outcome {
                attempts.increment()
                latency.recordSeconds(max(0, Date().timeIntervalSince(claim.occurredAt)))
                try await queue.delivered(claim, status: status)
                return
            }
            failedAttempts.increment()
            let (status, error): (Int?, String) = switch outcome {
            case .rejected(let status): (status, "HTTP \(status)")
            case .unreachable(let why): (nil, why)
            case .success: (nil, "")
            }
            let gaveUp = try await queue.attemptFailed(
                claim, status: status, error: error, retryInSeconds: settings.delay(afterAttempt: claim.attempt),
                retryWindowSeconds: settings.retryWindowSeconds)
            logger.info("webhook attempt failed", metadata: ["webhook": "\(claim.webhookID)", "event": "\(claim.eventID)", "attempt": "\(claim.attempt)", "error": "\(error)"])
            if gaveUp {
                failures.increment()
                logger.warning("webhook delivery failed for good", metadata: ["webhook": "\(claim.webhookID)", "event": "\(claim.eventID)", "error": "\(error)"])
            }
        } catch {
            // The lease runs out and the delivery is attempted again: late rather than lost.
            logger.warning("could not record a webhook attempt", metadata: ["error": "\(error)"])
        }
    }

    enum Outcome: Equatable {
        case success(Int)
        case rejected(Int)
        case unreachable(String)
    }

    func attempt(_ claim: DeliveryQueue.Claim) async -> Outcome {
        guard let url = URL(string: claim.url) else { return .unreachable("invalid URL") }
        // Resolved and checked once; the request goes to exactly these addresses.
        let destination: WebhookURLPolicy.Destination
        do {
            destination = try await policy.vet(url)
        } catch {
            return .unreachable("\(error)")
        }
        let body = Array(claim.payload.utf8)
        var keys: [[UInt8]] = []
        for sealed in [claim.secretSealed] + (claim.previousSecretSealed.map { [$0] } ?? []) {
            guard let secret = try? sealer.open(sealed, boundTo: WebhookStore.secretContext(claim.webhookID)),
                let key = WebhookSignature.key(of: String(decoding: secret, as: UTF8.self))
            else { return .unreachable("the webhook's secret cannot be opened with this key-encryption key") }
            keys.append(key)
        }
        let id = claim.eventID.uuidString.lowercased()
        let timestamp = Int(Date().timeIntervalSince1970)
        let headers = [
            ("Content-Type", "application/json"), ("User-Agent", "LockCloud-Webhooks/1"), ("webhook-id", id),
            ("webhook-timestamp", String(timestamp)),
            ("webhook-signature", WebhookSignature.header(id: id, timestamp: timestamp, body: body, keys: keys)),
        ]
        do {
            let status = try await sender.post(
                body, headers: headers, to: destination, timeout: .nanoseconds(Int64(settings.timeoutSeconds * 1_000_000_000)))
            return (200..<300).contains(status) ? .success(status) : .rejected(status)
        } catch {
            return .unreachable("\(error)")
        }
    }
}
