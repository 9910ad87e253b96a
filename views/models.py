"""The model registry: the OpenAI-compatible models that model-in-the-loop forms ask."""

import streamlit as st

from core import egress, models
from core.errors import DomainError, Invalid
from server import settings
from ui import state
from ui.feedback import field_error, flash, show_error
from ui.model_charts import show_call_analytics
from ui.models import api_keys, clock, http_client, key_status, policy
from ui.text import literal

NEW = ""  # the picker's value for "a new model"


def policy_note(rules: egress.EgressPolicy) -> str:
    """What the operator allows: the key variables that may be sent, where models may live."""
    keys = (f"Key variables this server may send: {_codes(rules.secret_names)}"
            if rules.secret_names else "This server sends no API keys, so only servers "
            "without keys can be registered")
    hosts = (f"Models may live on: {_codes(rules.hosts)} (`{rules.hosts_setting}`)."
             if rules.hosts is not None else
             f"Without a `{rules.hosts_setting}` allow-list, only an administrator sets a "
             "model's base URL; everyone may use and test the registered models.")
    return f"{keys} (`{rules.secrets_setting}`). {hosts}"


def _codes(names: tuple[str, ...]) -> str:
    return ", ".join(f"`{name}`" for name in names)


conn = state.connection()
user = state.require_user()

rules = policy()
admins_only = rules.hosts is None and not user.has("admin")  # who may set a base URL here

st.title("Models")
st.caption("Quorum asks any server that speaks OpenAI's chat-completions API: vLLM, Ollama, or "
           "a hosted service. API keys stay in the Quorum server's environment: give the name "
           "of the variable that holds a key, never the key itself.")
st.caption(policy_note(rules))
try:
    table = models.registry(conn, user)
except DomainError as error:
    show_error(error)
    st.stop()

if table.empty:
    st.info("No model is registered yet, so campaigns whose forms ask models are unavailable "
            "to experts. Register one below.", icon=":material/smart_toy:")
else:
    table["key"] = [key_status(name) for name in table["api_key_env"]]
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        "name": "Name", "base_url": "Base URL", "model": "Model id",
        "api_key_env": "Key variable", "key": "Key on this server",
        "timeout_s": st.column_config.NumberColumn("Timeout (s)", format="%.0f"),
        "max_tokens": "Max tokens", "temperature": "Temperature", "created_by": "Owner",
        "updated_at": st.column_config.DatetimeColumn("Changed (UTC)",
                                                      format="YYYY-MM-DD HH:mm")})

if "model_pick_next" in st.session_state:  # chosen by the last save, before the box is drawn
    st.session_state["model_pick"] = st.session_state.pop("model_pick_next")
names = table["name"].tolist()
picked = st.selectbox("Model", [NEW, *names], key="model_pick",
                      format_func=lambda n: "+ Register a new model" if n == NEW else n)
current = models.get_model(conn, picked) if picked else None
error: Invalid | None = st.session_state.get(f"model_error_{picked}")

with st.form(f"model-form-{picked}"):
    name = st.text_input("Name", current.name if current else "", placeholder="llama-8b",
                         help="What workflow forms call it, e.g. `models: [llama-8b]`.")
    field_error(error, "name")
    base_url = st.text_input("Base URL", current.base_url if current else "",
                             placeholder="http://localhost:8000/v1", disabled=admins_only,
                             help="Quorum posts to BASE_URL/chat/completions." + (
                                 " On this server only an administrator sets it."
                                 if admins_only else ""))
    field_error(error, "base_url")
    model_id = st.text_input("Model id on the server", current.model if current else "",
                             placeholder="meta-llama/Llama-3.1-8B-Instruct")
    field_error(error, "model")
    key_env = st.text_input("Environment variable holding the API key",
                            current.api_key_env if current else "",
                            placeholder="OPENAI_API_KEY (leave empty if the server needs none)")
    field_error(error, "api_key_env")
    a, b, c = st.columns(3)
    timeout_s = a.number_input("Timeout (seconds)", 1.0, 600.0,
                               current.timeout_s if current else 60.0, 1.0)
    max_tokens = b.number_input("Max tokens", 1, 100_000, current.max_tokens if current else 1024)
    temperature = c.number_input("Temperature", 0.0, 2.0,
                                 current.temperature if current else 0.7, 0.1)
    for field in ("timeout_s", "max_tokens", "temperature"):
        field_error(error, field)
    save = st.form_submit_button("Save changes" if current else "Register model",
                                 type="primary")

if save:
    try:
        saved = models.save_model(conn, user, name=name, base_url=base_url, model=model_id,
                                  api_key_env=key_env, timeout_s=timeout_s,
                                  max_tokens=int(max_tokens), temperature=temperature,
                                  now=settings.now(), existing=current.name if current else None,
                                  policy=rules)
    except Invalid as problem:
        st.session_state[f"model_error_{picked}"] = problem
        st.rerun()
    except DomainError as refusal:
        show_error(refusal)
    else:
        st.session_state.pop(f"model_error_{picked}", None)
        st.session_state["model_pick_next"] = saved.name
        flash(f"Saved the model “{saved.name}”.", ":material/save:")
        st.rerun()
if error is not None:
    show_error(error)

if current is not None:
    test_col, delete_col, _ = st.columns([1, 1, 3])
    if test_col.button("Test connection", icon=":material/network_check:", width="stretch"):
        with st.spinner(f"Asking “{literal(current.name)}” for one word…"):
            check = models.check_connection(current, api_keys(conn), clock, http_client(),
                                            policy=rules)
        if check.ok:
            st.success(literal(check.message), icon=":material/check_circle:")
        else:
            st.error(literal(check.message), icon=":material/error:")
    if delete_col.button("Delete", icon=":material/delete:", width="stretch",
                         help="Recorded calls stay. Campaigns that name it become unavailable."):
        try:
            models.delete_model(conn, user, current.name)
        except DomainError as refusal:
            show_error(refusal)
        else:
            st.session_state["model_pick_next"] = NEW
            flash(f"Deleted the model “{current.name}”.", ":material/delete:")
            st.rerun()

st.divider()
st.subheader("Calls across your campaigns")
show_call_analytics(conn, user)
