from .test_expert_keys import site, open_label, PASSWORD  # noqa
from .conftest import log_in

def test_probe(site, page):
    server, ids = site
    log_in(page, server, "ada", PASSWORD)
    open_label(page, server, ids["Sentiment"])
    page.evaluate("() => { window.__log = []; document.addEventListener('keydown', e => window.__log.push(['doc', e.key, e.ctrlKey, e.defaultPrevented, document.activeElement.tagName])); }")
    page.keyboard.press("2")
    page.wait_for_timeout(300)
    print("CHECKED", page.evaluate("() => [...document.querySelectorAll('.st-key-label-choice input')].map(i => i.checked)"))
    page.keyboard.press("Enter")
    page.wait_for_timeout(1500)
    print("LOG", page.evaluate("() => JSON.stringify(window.__log)"))
    print("BTN", page.evaluate("() => document.querySelector('[data-testid=stBaseButton-primaryFormSubmit]')?.parentElement?.outerHTML.slice(0,800)"))
    print("TEXT", page.evaluate("() => document.querySelector('[data-testid=stMain]').innerText.slice(0, 600)"))
