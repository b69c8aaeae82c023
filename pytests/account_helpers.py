"""A signed-in browser on the owner pages (/account), driven with requests: it reads each
page's CSRF token the way a browser's form would send it."""
import re

import requests

from oauth_helpers import PASSWORD, create_owner, tokens_for


def csrf_in(html):
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


class Account:
    def __init__(self, base_url, email, password=PASSWORD):
        self.base_url = base_url
        self.email = email
        self.password = password
        self.session = requests.Session()
        self.sign_in()

    def sign_in(self, password=None):
        form = self.session.get(self.base_url + "/account/sign-in", allow_redirects=False)
        assert form.status_code == 200, form.text
        return self.session.post(self.base_url + "/account/sign-in", allow_redirects=False, data={
            "csrf_token": csrf_in(form.text), "email": self.email, "password": password or self.password})

    def get(self, path, **kwargs):
        return self.session.get(self.base_url + path, allow_redirects=False, **kwargs)

    @property
    def csrf(self):
        return csrf_in(self.get("/account/locks").text)

    def post(self, path, csrf=True, **fields):
        """POSTs a form as the page would; csrf=False leaves the token out, a string sends that one."""
        if csrf is True:
            fields["csrf_token"] = self.csrf
        elif csrf:
            fields["csrf_token"] = csrf
        return self.session.post(self.base_url + path, data=fields, allow_redirects=False)


class Owner:
    """A fresh owner with an API token (Seam's, through the real authorization pages) and
    `lock_count` paired locks, signed in on the owner pages."""

    def __init__(self, base_url, lockcloud_bin, database_url, lock_count=1):
        self.base_url = base_url
        self.email, self.password = create_owner(lockcloud_bin, database_url)
        self.tokens = tokens_for(base_url, email=self.email, password=self.password)
        self.api = requests.Session()
        self.api.headers["Authorization"] = "Bearer " + self.tokens["access_token"]
        self.locks = [self.api.post(f"{base_url}/locks", json={"name": f"Door {i}", "timezone": "Europe/Berlin"}).json()
                      for i in range(lock_count)]
        self.account = Account(base_url, self.email, self.password)

    def lock(self, index=0):
        return self.api.get(f"{self.base_url}/locks/{self.locks[index]['lock_id']}").json()

    def codes(self, index=0):
        return self.api.get(f"{self.base_url}/locks/{self.locks[index]['lock_id']}/access_codes",
                            params={"include_ended": "true"}).json()["access_codes"]
