"""Who you are (accounts, passwords, tokens) and what you may do (one policy table).

``identity`` is the only module that decides who a request comes from; ``policy`` is
the only table that decides what a person may do. The API, the web screens, the
README's matrix and the authorization test all read those two.
"""
