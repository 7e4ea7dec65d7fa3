% p(a) and p(X) => p(s(X)); the conjecture asks for p(s^6(a)) with only 5 axioms of the chain usable: CounterSatisfiable
fof(base, axiom, p0(a)).
fof(step0, axiom, ![X]: (p0(X) => p1(s(X)))).
fof(step1, axiom, ![X]: (p1(X) => p2(s(X)))).
fof(step2, axiom, ![X]: (p2(X) => p3(s(X)))).
fof(step3, axiom, ![X]: (p3(X) => p4(s(X)))).
fof(step4, axiom, ![X]: (p4(X) => p5(s(X)))).
fof(goal, conjecture, p6(s(s(s(s(s(s(a)))))))).
