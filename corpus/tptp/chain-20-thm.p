% p(a) and p(X) => p(s(X)); the conjecture asks for p(s^20(a)) with only 20 axioms of the chain usable: Theorem
fof(base, axiom, p0(a)).
fof(step0, axiom, ![X]: (p0(X) => p1(s(X)))).
fof(step1, axiom, ![X]: (p1(X) => p2(s(X)))).
fof(step2, axiom, ![X]: (p2(X) => p3(s(X)))).
fof(step3, axiom, ![X]: (p3(X) => p4(s(X)))).
fof(step4, axiom, ![X]: (p4(X) => p5(s(X)))).
fof(step5, axiom, ![X]: (p5(X) => p6(s(X)))).
fof(step6, axiom, ![X]: (p6(X) => p7(s(X)))).
fof(step7, axiom, ![X]: (p7(X) => p8(s(X)))).
fof(step8, axiom, ![X]: (p8(X) => p9(s(X)))).
fof(step9, axiom, ![X]: (p9(X) => p10(s(X)))).
fof(step10, axiom, ![X]: (p10(X) => p11(s(X)))).
fof(step11, axiom, ![X]: (p11(X) => p12(s(X)))).
fof(step12, axiom, ![X]: (p12(X) => p13(s(X)))).
fof(step13, axiom, ![X]: (p13(X) => p14(s(X)))).
fof(step14, axiom, ![X]: (p14(X) => p15(s(X)))).
fof(step15, axiom, ![X]: (p15(X) => p16(s(X)))).
fof(step16, axiom, ![X]: (p16(X) => p17(s(X)))).
fof(step17, axiom, ![X]: (p17(X) => p18(s(X)))).
fof(step18, axiom, ![X]: (p18(X) => p19(s(X)))).
fof(step19, axiom, ![X]: (p19(X) => p20(s(X)))).
fof(goal, conjecture, p20(s(s(s(s(s(s(s(s(s(s(s(s(s(s(s(s(s(s(s(s(a)))))))))))))))))))))).
