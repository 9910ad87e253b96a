"""Model-in-the-loop set-ups shared by the core, page and browser tests and the benchmark."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from core import campaigns, egress, models
from core.users import User

# What the tests' operator allows: the fake server's host, and the test key variables.
POLICY = egress.EgressPolicy(hosts=("127.0.0.1",), secret_names=("FAKE_KEY", "BETA_KEY"))

# The expert writes a prompt, two models answer, the expert rates each, prefers one, rewrites.
COMPARE = """\
blocks:
  - type: markdown
    value: Ask the assistants something, then judge their responses.
  - type: model_responses
    models: [alpha, beta]
    prompt_from: expert
    system: You are a careful assistant.
  - {type: rating, id: rate_a, response: A, prompt: "How good is response A?", min: 1, max: 5}
  - {type: rating, id: rate_b, response: B, prompt: "How good is response B?", min: 1, max: 5}
  - {type: pairwise, id: better, prompt: "Which response is better?"}
  - {type: free_text, id: rewrite, prompt: Rewrite the better one, required: false}
"""

# The item supplies the prompt; three models; rank them and pick the best.
RANK = """\
blocks:
  - type: model_responses
    models: [alpha, beta, gamma]
    prompt_field: prompt
  - {type: ranking, id: order, prompt: Rank the responses}
  - {type: single_choice, id: best, prompt: "Which is best?", options: [A, B, C]}
"""


def item_prompt_form(*names: str) -> str:
    """A form whose items give the prompt to the models `names`, and one free-text question."""
    return (f"blocks:\n  - {{type: model_responses, models: [{', '.join(names)}], "
            "prompt_field: prompt}\n  - {type: free_text, id: note, prompt: Note}\n")


def register(conn, actor: User, base_url: str, now: datetime, *names: str,
             timeout_s: float = 5, api_key_env: str = "",
             policy: egress.EgressPolicy = POLICY) -> None:
    """Register models named `names`, each served under its own name by the fake server."""
    for name in names:
        models.save_model(conn, actor, name=name, base_url=base_url, model=name,
                          api_key_env=api_key_env, timeout_s=timeout_s, max_tokens=256,
                          temperature=0.2, now=now, policy=policy)


def legacy_model(conn, owner: User, name: str, base_url: str, api_key_env: str,
                 now: datetime, timeout_s: float = 5) -> None:
    """A registry row saved before the operator's policy (or under a wider one): plain SQL."""
    conn.execute("INSERT INTO models (name, base_url, model, api_key_env, timeout_s, max_tokens,"
                 " temperature, created_by, created_at, updated_at) "
                 "VALUES (?, ?, ?, ?, ?, 256, 0.2, ?, ?, ?)",
                 [name, base_url, name, api_key_env, timeout_s, owner.id, now, now])


def model_campaign(conn, actor: User, now: datetime, spec: str = COMPARE, n_items: int = 3,
                   **settings) -> campaigns.Campaign:
    """A live general-knowledge campaign in en-US with the model spec and `n_items` items."""
    values = dict(title="Compare the assistants", skill="general", language="en-US",
                  minutes_per_item=2, pay_per_item=2, overlap=2, lease_minutes=30,
                  opens_at=now - timedelta(days=1), expires_at=now + timedelta(days=7))
    values.update(settings)
    campaign = campaigns.create(conn, actor, spec_text=spec, now=now - timedelta(days=2),
                                status="live", **values)
    items = pd.DataFrame({"payload": [{"text": f"Item {n}", "prompt": f"Question number {n}?"}
                                      for n in range(n_items)]})
    campaigns.add_items(conn, actor, campaign.id, items, now - timedelta(days=2))
    return campaign
