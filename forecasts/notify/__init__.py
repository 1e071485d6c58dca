"""Notifications (SPEC §9): the outbox of events, webhooks and their deliveries."""
