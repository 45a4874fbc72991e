"""Both HTTP servers, spoken to in raw XML and raw JSON, as another language would.

No Python RPC library builds these requests or reads the answers: the bodies
are written out by hand and sent with http.client.
"""

import http.client
import json
import xml.etree.ElementTree as ET

import pytest
from helpers import PROTOCOLS

pytestmark = pytest.mark.slow


def post(name, path, body, content_type):
    """POST a body to a server; return the HTTP status and the response body."""
    connection = http.client.HTTPConnection('127.0.0.1', PROTOCOLS[name].port, timeout=10)
    try:
        connection.request('POST', path, body, {'Content-Type': content_type})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


# XML-RPC ---------------------------------------------------------------------


def decode(value):
    """The Python value of an XML-RPC <value> element."""
    if len(value) == 0:
        return value.text or ''  # a <value> without a type tag is a string
    (typed,) = value
    if typed.tag in ('int', 'i4'):
        return int(typed.text)
    if typed.tag == 'double':
        return float(typed.text)
    if typed.tag == 'string':
        return typed.text or ''
    if typed.tag == 'array':
        return [decode(item) for item in typed.findall('data/value')]
    if typed.tag == 'struct':
        return {m.findtext('name'): decode(m.find('value')) for m in typed.findall('member')}
    raise AssertionError(f'unexpected XML-RPC type <{typed.tag}>')


def xmlrpc_call(servers, body):
    """POST a hand-written methodCall; return ('result' or 'fault', its value)."""
    servers['xmlrpc']
    status, answer = post('xmlrpc', '/RPC2', body.encode('utf-8'), 'text/xml')
    assert status == 200
    response = ET.fromstring(answer)
    assert response.tag == 'methodResponse'
    fault = response.find('fault/value')
    if fault is not None:
        return 'fault', decode(fault)
    return 'result', decode(response.find('params/param/value'))


def method_call(name, *params):
    values = ''.join(f'<param><value>{param}</value></param>' for param in params)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<methodCall><methodName>{name}</methodName><params>{values}</params></methodCall>'
    )


def test_xmlrpc_int_parameters(servers):
    body = method_call('addtogether', '<int>20</int>', '<i4>30</i4>', '<int>4</int>')
    assert xmlrpc_call(servers, body) == ('result', 54)


def test_xmlrpc_non_ascii_strings(servers):
    text = 'xÿz → €, 日本, 🐍'
    body = method_call('remote_repr', f'<string>{text}</string>')
    assert xmlrpc_call(servers, body) == ('result', repr(text))
    body = method_call('addtogether', '<string>ÿ</string>', '🐍')  # untyped: a string
    assert xmlrpc_call(servers, body) == ('result', 'ÿ🐍')


def test_xmlrpc_introspection(servers):
    assert xmlrpc_call(servers, method_call('system.listMethods')) == (
        'result',
        [
            'addtogether',
            'quadratic',
            'remote_repr',
            'system.listMethods',
            'system.methodHelp',
            'system.methodSignature',
            'system.multicall',
        ],
    )
    help_call = method_call('system.methodHelp', '<string>remote_repr</string>')
    assert xmlrpc_call(servers, help_call) == (
        'result',
        'Return the `repr()` rendering of the supplied `arg`.',
    )
    signature_call = method_call('system.methodSignature', '<string>quadratic</string>')
    assert xmlrpc_call(servers, signature_call) == ('result', 'signatures not supported')


def test_xmlrpc_multicall_keeps_each_fault_in_its_slot(servers):
    def call(name, *params):
        values = ''.join(f'<value><int>{p}</int></value>' for p in params)
        return (
            f'<value><struct><member><name>methodName</name><value>{name}</value></member>'
            f'<member><name>params</name><value><array><data>{values}</data></array>'
            '</value></member></struct></value>'
        )

    calls = [call('quadratic', 1, -3, 2), call('quadratic', 1, 0, 1), call('no_such', 1)]
    body = method_call('system.multicall', f'<array><data>{"".join(calls)}</data></array>')
    kind, slots = xmlrpc_call(servers, body)
    assert kind == 'result'
    assert slots == [
        [[1.0, 2.0]],  # a good call's answer comes wrapped in a list of one
        {'faultCode': 1, 'faultString': "<class 'ValueError'>:math domain error"},
        {'faultCode': 1, 'faultString': '<class \'Exception\'>:method "no_such" is not supported'},
    ]


def test_xmlrpc_unknown_method_is_a_fault_not_an_http_error(servers):
    assert xmlrpc_call(servers, method_call('no_such', '<int>1</int>')) == (
        'fault',
        {'faultCode': 1, 'faultString': '<class \'Exception\'>:method "no_such" is not supported'},
    )


# JSON-RPC 2.0: the specification's examples, applied to lengths() ---------------


def jsonrpc_post(servers, body):
    """POST a hand-written JSON body; return the decoded answer (None if empty)."""
    servers['jsonrpc']
    status, answer = post('jsonrpc', '/', body.encode('utf-8'), 'application/json')
    assert status == 200
    if not answer:
        return None
    decoded = json.loads(answer)
    for response in decoded if isinstance(decoded, list) else [decoded]:
        assert response['jsonrpc'] == '2.0'
    return decoded


def error(code, id=None):
    """What the tests require of an error response: its code and the id."""
    return {'jsonrpc': '2.0', 'id': id, 'error': {'code': code}}


def without_messages(response):
    """A response with its error message left out (the text is the server's own)."""
    if 'error' not in response:
        return response
    assert isinstance(response['error']['message'], str)
    return {**response, 'error': {'code': response['error']['code']}}


def test_jsonrpc_positional_call(servers):
    body = '{"jsonrpc": "2.0", "method": "lengths", "params": ["abc", 5], "id": 1}'
    assert jsonrpc_post(servers, body) == {
        'jsonrpc': '2.0',
        'result': [[3, 'abc'], [None, 5]],
        'id': 1,
    }


def test_jsonrpc_method_not_found(servers):
    answer = jsonrpc_post(servers, '{"jsonrpc": "2.0", "method": "foobar", "id": "1"}')
    assert without_messages(answer) == error(-32601, id='1')


def test_jsonrpc_invalid_json(servers):
    body = '{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]'
    assert without_messages(jsonrpc_post(servers, body)) == error(-32700)


def test_jsonrpc_invalid_request_object(servers):
    answer = jsonrpc_post(servers, '{"jsonrpc": "2.0", "method": 1, "params": "bar"}')
    assert without_messages(answer) == error(-32600)


def test_jsonrpc_batch_answers_the_calls_but_not_the_notification(servers):
    body = """[
        {"jsonrpc": "2.0", "method": "lengths", "params": [[1, 2, 4]], "id": "1"},
        {"jsonrpc": "2.0", "method": "lengths", "params": [7]},
        {"jsonrpc": "2.0", "method": "lengths", "params": ["ab", 42], "id": "2"},
        {"foo": "boo"},
        {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
        {"jsonrpc": "2.0", "method": "lengths", "id": "9"}
    ]"""
    answers = [without_messages(answer) for answer in jsonrpc_post(servers, body)]
    assert sorted(answers, key=lambda a: str(a['id'])) == [
        {'jsonrpc': '2.0', 'result': [[3, [1, 2, 4]]], 'id': '1'},
        {'jsonrpc': '2.0', 'result': [[2, 'ab'], [None, 42]], 'id': '2'},
        error(-32601, id='5'),
        {'jsonrpc': '2.0', 'result': [], 'id': '9'},
        error(-32600),
    ]


def test_jsonrpc_empty_batch(servers):
    assert without_messages(jsonrpc_post(servers, '[]')) == error(-32600)


def test_jsonrpc_batch_of_invalid_entries(servers):
    answers = jsonrpc_post(servers, '[1, 2, 3]')
    assert [without_messages(answer) for answer in answers] == [error(-32600)] * 3


def test_jsonrpc_batch_of_notifications_gets_no_body(servers):
    body = """[
        {"jsonrpc": "2.0", "method": "lengths", "params": [1, 2, 4]},
        {"jsonrpc": "2.0", "method": "lengths", "params": [7]}
    ]"""
    assert jsonrpc_post(servers, body) is None
