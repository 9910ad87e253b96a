"""Leadership's impact dashboard: is collecting in-house worth it, and are experts happy?"""

from datetime import timedelta

import streamlit as st

from core import catalog, impact
from core.errors import DomainError
from server import settings
from ui import charts, state
from ui.feedback import show_error
from ui.format import money, status_name

conn = state.connection()
user = state.require_user()
config = settings.load()
today = settings.now().date()

ACTIVE_HELP = ("Everyone who answered at least one item in the period, whenever they signed up: "
               "experts who joined earlier count too, so this can be more than the sign-ups.")

st.title("Impact")
st.caption("What Quorum has collected, what it cost against buying the same items from a "
           f"vendor at {money(config.vendor_price)} each, and how experts feel about it. "
           "All times UTC.")
six_months_ago = (today.replace(day=1) - timedelta(days=150)).replace(day=1)
picked = st.date_input("Period", value=(six_months_ago, today), max_value=today,
                       help="Pick the first and the last day to include.")
if not isinstance(picked, tuple) or len(picked) != 2:
    st.info("Pick both a first and a last day.")
    st.stop()
start, end = picked[0], picked[1] + timedelta(days=1)

try:
    t = impact.totals(conn, user, start, end, config.vendor_price)
except DomainError as error:
    show_error(error)
    st.stop()
months = impact.monthly(conn, user, start, end)

a, b, c, d = st.columns(4)
a.metric("Sign-ups", f"{t.signups:,}")
b.metric("Active experts", f"{t.active_experts:,}", help=ACTIVE_HELP)
c.metric("Campaigns launched", f"{t.campaigns_launched:,}")
d.metric("Items collected", f"{t.items_collected:,}", help="Answers kept (not rejected).")
a, b, c, d = st.columns(4)
a.metric("Cost", money(t.cost), help="Everything paid to experts: items, bonuses, rewards, "
                                      "minus reversals.")
b.metric("Cost per item", "—" if t.cost_per_item is None else money(t.cost_per_item),
         delta=None if t.cost_per_item is None
         else f"{money(config.vendor_price - t.cost_per_item)} under vendor",
         delta_color="normal")
c.metric("Saving against the vendor", money(t.saving),
         help=f"{t.items_collected:,} items × {money(config.vendor_price)} = "
              f"{money(t.vendor_cost)} from a vendor, minus what Quorum paid.")
rated = months.dropna(subset=["satisfaction"])
change = rated["satisfaction_change"].iloc[-1] if len(rated) > 1 else None
d.metric("Satisfaction", "—" if t.satisfaction is None else f"{t.satisfaction:.2f} / 5",
         delta=None if change is None or change != change else f"{change:+.2f} vs previous",
         help=f"Average of {t.survey_responses:,} survey answers in the period.")
st.caption("*Sign-ups* are accounts created in the period; *active experts* are the people who "
           "answered at least once in it, including those who joined before it.")


def download(frame, name: str) -> None:
    """A CSV download of a table shown above it."""
    st.download_button(f"Download {name} (CSV)", frame.to_csv(index=False).encode(),
                       file_name=f"quorum-{name.replace(' ', '-')}-{start}-{end}.csv",
                       mime="text/csv", icon=":material/download:", key=f"dl-{name}")


left, right = st.columns(2)
with left:
    st.subheader("Accounts")
    signups = impact.signups(conn, user, start, end)
    if signups.empty:
        st.caption("No sign-ups in this period.")
    else:
        st.altair_chart(charts.cumulative_line(signups, "day", "accounts", "Accounts"),
                        width="stretch")
    download(signups, "sign-ups")
with right:
    st.subheader("Monthly active experts")
    st.altair_chart(charts.monthly_bars(months, "active_experts", "Active experts"),
                    width="stretch")

left, right = st.columns(2)
with left:
    st.subheader("Campaigns launched")
    st.altair_chart(charts.monthly_bars(months, "campaigns_launched", "Campaigns", "#7048e8"),
                    width="stretch")
with right:
    st.subheader("Satisfaction")
    if rated.empty:
        st.caption("No survey answers in this period.")
    else:
        st.altair_chart(charts.satisfaction(months), width="stretch")

st.subheader("Items collected by skill area")
by_skill = impact.items_by_skill(conn, user, start, end)
if by_skill.empty:
    st.caption("No items collected in this period.")
else:
    st.altair_chart(charts.items_by_skill(by_skill), width="stretch")
download(by_skill, "items by skill")

st.subheader("Month by month")
st.dataframe(months, hide_index=True, width="stretch", placeholder="", column_config={
    "month": st.column_config.DateColumn("Month", format="MMM YYYY"),
    "active_experts": "Active experts", "campaigns_launched": "Campaigns launched",
    "items": "Items", "cost": st.column_config.NumberColumn("Cost", format="dollar"),
    "satisfaction": st.column_config.NumberColumn("Satisfaction", format="%.2f"),
    "survey_responses": "Survey answers",
    "satisfaction_change": st.column_config.NumberColumn("Change", format="%+.2f")})
download(months, "monthly")

st.subheader("Top campaigns")
top = impact.top_campaigns(conn, user, start, end)
shown = top.assign(language=top["language"].map(catalog.language_name),
                   status=top["status"].map(status_name)) if not top.empty else top
st.dataframe(shown, hide_index=True, width="stretch", placeholder="", column_config={
    "campaign": st.column_config.TextColumn("Campaign", width="medium"),
    "skill": "Skill", "language": "Language", "status": "Status", "items": "Items",
    "experts": "Experts", "cost": st.column_config.NumberColumn("Cost", format="dollar"),
    "cost_per_item": st.column_config.NumberColumn("Cost per item", format="dollar")})
download(top, "top campaigns")
